"""Cryptography and JOSE helpers shared by the server and the client library."""
