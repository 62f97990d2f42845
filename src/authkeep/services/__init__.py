"""Rules of the identity server: no HTTP here. Functions take a session and an environment."""
