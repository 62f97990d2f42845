"""`POST /user_management/authenticate` grants (CONTRACT.md §3), one module per grant_type.

Each reads as its checklist: load, check, raise, issue. `issue.py` holds what they share.
"""
