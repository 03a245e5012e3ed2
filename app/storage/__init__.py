"""Where vault objects live: a small key/value protocol with no vault knowledge.

Backends: local folder, Dropbox (official SDK), in-memory (tests); decorators add
retries. The engine sees only the ``Storage`` protocol from ``app.storage.base``.
"""
