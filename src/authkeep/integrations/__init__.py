"""Interoperability with the cookie and token formats of other WorkOS SDKs (CONTRACT.md §5.4)."""
