"""Where vault objects live: a small key/value protocol with no vault knowledge.

``app.storage.base`` holds the ``Storage`` protocol, its contract and the
``Capabilities`` each backend declares (the engine reads them; it never looks at a
backend's class). Backends: local folder, Dropbox (``app.storage.dropbox``, a
package), S3-compatible (``app.storage.s3``), in-memory (tests). Decorators, which
forward the inner backend's capabilities: ``RetryingStorage`` (retries) and
``LimitedStorage`` with the shared, run-time adjustable ``Limiter`` (upload
bandwidth). ``factory.open_storage`` turns a REPO string into the right stack.
"""
