"""A decorator that retries transient storage failures with capped, jittered backoff.

Only ``TransientStorageError`` is retried; everything else (not found, full, auth)
is an answer, not a hiccup. A server-requested wait (429 Retry-After) is honoured
and reported through ``on_wait`` so the GUI can say "throttled, resuming at 14:05".
Retries are bounded: after ``attempts`` tries the last error escapes.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from app.core.errors import TransientStorageError
from app.storage.base import Capabilities, Data, ObjectInfo, Storage

T = TypeVar("T")
S = TypeVar("S", bound=Storage)

WaitCallback = Callable[[datetime, str], None]


class Backoff:
    """Capped exponential backoff with equal jitter, honouring a server's requested
    wait; shared by ``RetryingStorage`` and backends that retry inside one operation
    (an upload session resuming from the server's offset, a listing cursor)."""

    def __init__(
        self,
        *,
        attempts: int = 8,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.sleep = sleep
        self.on_wait = on_wait
        self._rng = rng or random.Random()
        self.retries = 0  # how many retries happened; for tests and statistics

    def wait(self, exc: TransientStorageError, attempt: int, what: str) -> None:
        """Sleep before retry number ``attempt`` (1-based), telling ``on_wait`` when long."""
        self.retries += 1
        if exc.retry_after is not None:
            delay = min(max(exc.retry_after, 0.0), 15 * 60.0)
        else:
            cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
            delay = self._rng.uniform(cap / 2, cap)
        if self.on_wait is not None and delay >= 1.0:
            resume = datetime.now(UTC) + timedelta(seconds=delay)
            self.on_wait(resume, f"{exc.message} Retrying {what}.")
        self.sleep(delay)

    def call(
        self, what: str, fn: Callable[[], T], on_failure: Callable[[], None] | None = None
    ) -> T:
        """Run ``fn``, retrying transient failures; the last one escapes."""
        attempt = 0
        while True:
            try:
                return fn()
            except TransientStorageError as exc:
                if on_failure is not None:
                    on_failure()
                attempt += 1
                if attempt >= self.attempts:
                    raise
                self.wait(exc, attempt, what)


class RetryingStorage(Storage, Generic[S]):
    """Retries each call on the inner backend; ``RetryingStorage[DropboxStorage]``
    keeps the inner type for callers that tune the backend (tests, the factory)."""

    def __init__(
        self,
        inner: S,
        *,
        attempts: int = 8,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: WaitCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.inner = inner
        self.backoff = Backoff(
            attempts=attempts,
            base_delay=base_delay,
            max_delay=max_delay,
            sleep=sleep,
            on_wait=on_wait,
            rng=rng,
        )

    @property
    def retries(self) -> int:
        return self.backoff.retries

    @property
    def on_wait(self) -> WaitCallback | None:
        return self.backoff.on_wait

    @on_wait.setter
    def on_wait(self, callback: WaitCallback | None) -> None:
        self.backoff.on_wait = callback

    @property
    def description(self) -> str:
        return self.inner.description

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        return self.backoff.call(what, fn)

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def put(self, name: str, data: Data) -> None:
        self._call(name, lambda: self.inner.put(name, data))

    def put_many(self, items: Sequence[tuple[str, Data]]) -> None:
        # A batch is retried whole (puts are idempotent); item by item otherwise, so
        # each object gets its own retry budget as with plain puts.
        if self.inner.capabilities.batch_put:
            batch = list(items)
            self._call("a batch of objects", lambda: self.inner.put_many(batch))
        else:
            for name, data in items:
                self.put(name, data)

    def get(self, name: str) -> bytes:
        return self._call(name, lambda: self.inner.get(name))

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        return self._call(name, lambda: self.inner.get_range(name, offset, length))

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        # Materialise inside the retry so a failure mid-listing restarts cleanly.
        return iter(self._call(f"listing {prefix}", lambda: list(self.inner.list(prefix))))

    def delete(self, name: str) -> None:
        self._call(name, lambda: self.inner.delete(name))

    def delete_many(self, names: Iterable[str]) -> None:
        if self.inner.capabilities.batch_delete:
            batch = list(names)
            self._call("deleting old objects", lambda: self.inner.delete_many(batch))
        else:
            for name in names:
                self.delete(name)

    def read_into(self, name: str, offset: int, out: memoryview) -> memoryview:
        return self._call(name, lambda: self.inner.read_into(name, offset, out))

    def remove_stale_temp_files(self) -> int:
        return self._call("cleaning up", self.inner.remove_stale_temp_files)

    def stat(self, name: str) -> ObjectInfo:
        return self._call(name, lambda: self.inner.stat(name))

    def close(self) -> None:
        self.inner.close()
