"""Version browser tests: the engine's catalog and session, and the Versions page."""
