"""authkeep: a self-hosted identity server speaking the WorkOS AuthKit API, and its client library.

`pip install authkeep` installs the client library only; the server lives behind the `server`
extra (`pip install "authkeep[server]"`).
"""

__version__ = "0.1.0"
