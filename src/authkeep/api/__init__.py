"""HTTP: one module per WorkOS resource; `wire.py` holds the shared request and response rules."""
