"""Hosted AuthKit pages: sign-in, sign-up, organization selection, errors."""
