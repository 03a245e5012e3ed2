"""Opening ``dropbox:NAME`` the way the app and the CLI do: env, keyring, retries.

The backend is wrapped in ``RetryingStorage`` (8 attempts, 0.5 s doubling to 30 s,
jittered; a 429 waits as long as Dropbox asks), which reports each wait through
``on_wait`` ("Dropbox is throttling, resuming at 14:05").
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping

from app.storage.dropbox.config import ENV_CA_BUNDLE, DropboxEndpoints, resolve_credentials
from app.storage.dropbox.storage import DropboxStorage
from app.storage.limiter import Limiter
from app.storage.retry import RetryingStorage, WaitCallback


class DropboxRetryingStorage(RetryingStorage[DropboxStorage]):
    """The retrying decorator around a Dropbox backend (``.inner`` is one); a class,
    not an alias, so ``isinstance`` works on it."""


def open_dropbox_storage(
    vault: str,
    *,
    on_wait: WaitCallback | None = None,
    secret_lookup: Callable[[str], str | None] | None = None,
    env: Mapping[str, str] | None = None,
    max_concurrent_uploads: int = 4,
    bandwidth_limit_kib: int | None = None,
    limiter: Limiter | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DropboxRetryingStorage:
    """Open ``dropbox:VAULT`` from the environment and the keyring (via ``secret_lookup``).

    Raises ``AuthRequiredError`` when Dropbox is not connected. Uploads are paced by
    ``limiter`` when given (the caller keeps it to change the rate later), else by
    ``bandwidth_limit_kib``.
    """
    env = os.environ if env is None else env
    storage = DropboxStorage(
        vault,
        credentials=resolve_credentials(env, secret_lookup),
        endpoints=DropboxEndpoints.from_env(env),
        ca_bundle=env.get(ENV_CA_BUNDLE) or None,
        max_concurrent_uploads=max_concurrent_uploads,
        bandwidth_limit_kib=bandwidth_limit_kib,
        limiter=limiter,
        sleep=sleep,
        on_wait=on_wait,
    )
    return DropboxRetryingStorage(
        storage, attempts=8, base_delay=0.5, max_delay=30.0, sleep=sleep, on_wait=on_wait
    )
