"""S3-compatible storage (AWS, Backblaze B2, Wasabi, Cloudflare R2, MinIO, Garage).

``open_s3_storage`` is what the factory calls for ``s3:BUCKET/PREFIX``; boto3 is
imported only when an S3 vault is opened, so local backups start fast.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.storage.retry import RetryingStorage, WaitCallback
from app.storage.s3.backend import S3Storage
from app.storage.s3.config import parse_location, resolve_settings

__all__ = ["S3RetryingStorage", "S3Storage", "open_s3_storage", "warm_up"]


#: What ``open_s3_storage`` returns: retries around the backend, which stays reachable
#: as ``.inner`` (tests and the settings' connection test use it).
S3RetryingStorage = RetryingStorage[S3Storage]


def warm_up() -> None:
    """Import everything a client and its first request import, and parse the S3
    model once, on the calling thread (the GUI's, before a worker needs it: see
    ``app.services.gateway.prewarm``). No network call is made."""
    import encodings.idna  # noqa: F401  (host names of the first request)

    from app.storage.s3.backend import make_client
    from app.storage.s3.config import S3Credentials, S3Settings

    settings = S3Settings(
        endpoint="http://127.0.0.1:9",
        region="us-east-1",
        credentials=S3Credentials("warm-up", "warm-up"),
    )
    make_client(settings, pool_size=1, timeouts=(1.0, 1.0)).close()


def open_s3_storage(
    spec: str,
    *,
    on_wait: WaitCallback | None = None,
    secret_lookup: Callable[[str], str | None] | None = None,
    endpoint: str | None = None,
    env: Mapping[str, str] | None = None,
    max_concurrent_uploads: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    **overrides: Any,
) -> S3RetryingStorage:
    """Open ``s3:SPEC`` (``BUCKET/PREFIX``) from the environment and the keyring.

    The result retries transient failures (8 attempts, 0.5 s doubling to 30 s,
    jittered; a SlowDown waits as long as the server asks) and reports each wait
    through ``on_wait``. ``overrides`` reach ``S3Storage`` (tests: small parts).
    """
    env = os.environ if env is None else env
    storage = S3Storage(
        parse_location(spec),
        settings=resolve_settings(env, secret_lookup, endpoint=endpoint),
        max_concurrent_uploads=max_concurrent_uploads,
        sleep=sleep,
        on_wait=on_wait,
        **overrides,
    )
    return S3RetryingStorage(
        storage, attempts=8, base_delay=0.5, max_delay=30.0, sleep=sleep, on_wait=on_wait
    )
