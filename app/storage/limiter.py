"""A bandwidth limit any backend can use: one token bucket, changeable while it runs.

restic puts a limiter around its backends' transports; so do we. A ``Limiter`` is
the bucket, shared by every upload connection it is given to (one limit for the
whole app, not per connection). ``set_rate`` may be called from any thread at any
time (the desktop app's upload speed setting): senders that are waiting re-plan at
once, so lifting the limit frees them immediately and lowering it applies from the
next piece on.

Three ways to put it in front of a transport, smoothest first:

* ``Limiter.paced(data)`` yields 64 KiB pieces, each once the bucket allows it; a
  transport that sends them as they come is paced on the wire (the Dropbox
  backend's HTTPS connections do this).
* ``LimitedReader`` is a file object whose ``read`` is paced, for clients that pull
  a request body from a file (boto3's ``upload_fileobj``).
* ``LimitedStorage`` decorates any ``Storage`` without such a hook: each ``put`` is
  paced before it is handed on. The average rate is right, but each object then
  leaves at full speed, so prefer a transport hook where the backend has one.

Only uploads are limited: that is what saturates a home uplink.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Generic, TypeVar

from app.storage.base import Capabilities, Data, ObjectInfo, Storage

S = TypeVar("S", bound=Storage)

#: Bytes per step: small enough that a rate change applies within one step at
#: any sensible rate, large enough that the bookkeeping costs nothing.
PIECE = 64 * 1024
_MIN_BURST = 64 * 1024
_MAX_WAIT = 60.0


class Limiter:
    """Bytes per second across every sender that takes from it; ``None``: no limit.

    A sender ``take``s the bytes it is about to send and is made to wait for the
    ones the bucket does not hold yet. The bucket holds at most ``burst`` bytes
    (a quarter second's worth by default) so an idle spell does not let a later
    upload exceed the limit for long. Thread-safe.

    ``clock`` and ``sleep`` are for tests: with an injected ``sleep`` the waits go
    through it (a fake clock makes them instant and exact); by default a waiting
    sender sleeps on a condition that ``set_rate`` wakes.
    """

    def __init__(
        self,
        rate: float | None = None,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._cond = threading.Condition()
        self._clock = clock
        self._sleep = sleep
        self._burst_setting = burst
        self._rate: float | None = None
        self._burst = 0.0
        self._tokens = 0.0
        self._last = clock()
        self._changes = 0  # bumped by set_rate, so a sleeper knows to re-plan
        self.set_rate(rate)

    @classmethod
    def from_kib(cls, kib_per_s: int | None) -> Limiter:
        """The settings' unit (KiB/s, 0 or ``None``: unlimited)."""
        return cls(kib_per_s * 1024.0 if kib_per_s else None)

    @property
    def rate(self) -> float | None:
        """The limit in bytes per second, or ``None`` when unlimited."""
        with self._cond:
            return self._rate

    def set_rate(self, bytes_per_s: float | None) -> None:
        """Change the limit now; ``None`` or ``0`` lifts it. Safe from any thread."""
        if bytes_per_s is not None and bytes_per_s < 0:
            raise ValueError("a bandwidth limit cannot be negative")
        new = float(bytes_per_s) if bytes_per_s else None
        with self._cond:
            now = self._clock()
            self._refill(now)
            old = self._rate
            self._rate = new
            if new is None:
                self._tokens = self._burst = 0.0
            else:
                self._burst = self._burst_setting or max(new / 4, _MIN_BURST)
                # Starting to limit: a full bucket. Changing the limit: keep any debt
                # (it is repaid at the new rate) but never more credit than a burst.
                self._tokens = self._burst if old is None else min(self._tokens, self._burst)
            self._changes += 1
            self._cond.notify_all()

    def take(self, n: int) -> None:
        """Block until ``n`` more bytes may be sent (at once when unlimited)."""
        if n <= 0:
            return
        with self._cond:
            if self._rate is None:
                return
            self._refill(self._clock())
            self._tokens -= n
            owed = -self._tokens  # what is still to come in, this sender's place in line
        if owed > 0:
            self._wait_for(owed)

    def paced(self, data: Data, piece: int = PIECE) -> Iterator[memoryview]:
        """``data`` in pieces of ``piece`` bytes, each yielded once it may be sent."""
        view = memoryview(data).cast("B")
        for start in range(0, len(view), piece):
            chunk = view[start : start + piece]
            self.take(len(chunk))
            yield chunk

    def _refill(self, now: float) -> None:
        if self._rate is not None:
            elapsed = max(now - self._last, 0.0)
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._last = now

    def _changed(self, seen: int) -> bool:
        return self._changes != seen

    def _wait_for(self, owed: float) -> None:
        """Wait until ``owed`` bytes have flowed in at the rate in force meanwhile."""
        while owed >= 1.0:
            with self._cond:
                rate = self._rate
                if rate is None:
                    return
                start = self._clock()
                delay = owed / rate
                if self._sleep is None:
                    # Capped: a tiny rate must not overflow the timeout; we re-plan anyway.
                    wake = functools.partial(self._changed, self._changes)
                    self._cond.wait_for(wake, min(delay, _MAX_WAIT))
            if self._sleep is not None:
                self._sleep(delay)
            owed -= (self._clock() - start) * rate


class LimitedReader:
    """A binary file object whose reads are paced by a ``Limiter``."""

    def __init__(self, inner: IO[bytes], limiter: Limiter) -> None:
        self._inner = inner
        self._limiter = limiter

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._limiter.take(len(data))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._inner.seek(offset, whence)

    def tell(self) -> int:
        return self._inner.tell()


class LimitedStorage(Storage, Generic[S]):
    """Paces every upload of ``inner`` through ``limiter``; reads pass straight on.

    For backends without a transport hook (see the module docstring). Forwards the
    inner backend's capabilities, like every decorator.
    """

    def __init__(self, inner: S, limiter: Limiter) -> None:
        self.inner = inner
        self.limiter = limiter

    @property
    def description(self) -> str:
        return self.inner.description

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def put(self, name: str, data: Data) -> None:
        for _piece in self.limiter.paced(data):
            pass
        self.inner.put(name, data)

    def put_many(self, items: Sequence[tuple[str, Data]]) -> None:
        for _name, data in items:
            for _piece in self.limiter.paced(data):
                pass
        self.inner.put_many(items)

    def get(self, name: str) -> bytes:
        return self.inner.get(name)

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        return self.inner.get_range(name, offset, length)

    def read_into(self, name: str, offset: int, out: memoryview) -> memoryview:
        return self.inner.read_into(name, offset, out)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, name: str) -> None:
        self.inner.delete(name)

    def delete_many(self, names: Iterable[str]) -> None:
        self.inner.delete_many(names)

    def stat(self, name: str) -> ObjectInfo:
        return self.inner.stat(name)

    def remove_stale_temp_files(self) -> int:
        return self.inner.remove_stale_temp_files()

    def close(self) -> None:
        self.inner.close()
