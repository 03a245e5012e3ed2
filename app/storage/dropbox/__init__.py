"""A vault in the user's Dropbox app folder, through the official SDK.

``dropbox:NAME`` lives at ``/NAME/`` in the app folder. One job per module:

========== =====================================================================
config     hosts (``DROPBOX_*_HOST``), credentials, limits, vault names; no SDK
auth       connecting an account: OAuth 2 with PKCE and an offline refresh token
transport  the HTTP session: TLS trust (an extra CA file) and upload pacing
client     the SDK client with explicit hosts and one token refresh at a time
errors     every SDK failure translated into our error types
calls      one SDK call: translation, and retries of parts of an operation
flaky      flaky-link mode (small session chunks after a failure)
uploads    verified uploads: one request, sessions for big objects, batches
listing    recursive listings, resumed by cursor
deletes    ``delete_batch`` jobs for prune
storage    ``DropboxStorage``: the Storage protocol, wiring the parts; downloads
factory    ``open_dropbox_storage``: environment, keyring, retry decorator
========== =====================================================================

Why the code looks the way it does:

* **Retries are ours.** The SDK retries 5xx with sleeps we cannot shorten or report
  and, by default, retries 429 forever; connection resets and truncated bodies it
  does not retry at all. So the client is built with bounded SDK retries (0 by
  default) and every failure is translated into our error types: transient ones
  are retried by ``RetryingStorage`` with capped, jittered backoff and reported
  through ``on_wait``; answers such as not-found, a full Dropbox or a revoked
  sign-in are raised at once.
* **Every upload is verified** against a locally computed ``content_hash``, and
  every download against size and hash.
* **Hosts and TLS are explicit**: read from the environment when a storage is
  opened (the SDK reads them once at import), with an extra CA file
  (``KEEPSAKE_DROPBOX_CA_BUNDLE``) trusted in addition to the usual roots.
* **The upload limit is the general one** (``app.storage.limiter``), applied to
  request bodies on the wire.

Tokens are held only in memory (``DropboxCredentials`` hides them from ``repr``);
they come from the keyring through the caller's ``secret_lookup``. This package
file imports nothing, so ``config`` can be read without loading the SDK.
"""
