"""The bandwidth limiter: pacing, run-time rate changes, and the Storage decorator.

Timing is checked on a fake clock whose ``sleep`` advances it, so the numbers are
exact and the tests take no time; the two tests that need a real waiting thread
learn that it waits through the limiter's own predicate, never by sleeping.
"""

from __future__ import annotations

import io
import threading

import pytest

from app.storage.limiter import PIECE, LimitedReader, LimitedStorage, Limiter
from app.storage.memory import MemoryStorage
from tests.storage.contract import StorageContract

KiB = 1024
MiB = 1024 * KiB


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1


def fake_limiter(rate: float | None, burst: float | None = None) -> tuple[Limiter, FakeTime]:
    time = FakeTime()
    return Limiter(rate, burst=burst, clock=time.clock, sleep=time.sleep), time


def test_takes_are_paced_at_the_rate() -> None:
    limiter, time = fake_limiter(1000.0, burst=100.0)
    for _ in range(50):
        limiter.take(100)
    assert 4.8 <= time.now <= 5.0  # 5000 bytes at 1000 B/s, minus the initial burst


def test_a_limited_put_of_n_bytes_takes_n_over_rate() -> None:
    limiter, time = fake_limiter(256 * KiB)  # burst: 64 KiB (a quarter second)
    storage = LimitedStorage(MemoryStorage(), limiter)
    data = bytes(4 * MiB)
    storage.put("data/00/p", data)
    assert time.now == pytest.approx((4 * MiB - 64 * KiB) / (256 * KiB), rel=0.01)
    assert storage.get("data/00/p") == data


def test_unlimited_puts_do_not_wait() -> None:
    limiter, time = fake_limiter(None)
    LimitedStorage(MemoryStorage(), limiter).put("config", bytes(MiB))
    assert time.now == 0.0 and time.sleeps == 0
    assert limiter.rate is None


def test_a_rate_change_midway_takes_effect() -> None:
    rate = 100 * KiB
    limiter, time = fake_limiter(rate, burst=PIECE)
    sent = 0
    for piece in limiter.paced(bytes(2 * MiB)):
        sent += len(piece)
        if sent == MiB:
            limiter.set_rate(4 * rate)  # the user raises the limit halfway through
    first = (MiB - PIECE) / rate
    second = MiB / (4 * rate)
    assert time.now == pytest.approx(first + second, rel=0.01)


def test_lowering_the_rate_applies_from_the_next_piece() -> None:
    limiter, time = fake_limiter(MiB, burst=PIECE)
    limiter.take(PIECE)  # the burst
    limiter.set_rate(64 * KiB)
    limiter.take(PIECE)
    assert time.now == pytest.approx(1.0)  # one 64 KiB piece at 64 KiB/s


def test_set_rate_validates_and_accepts_zero_as_unlimited() -> None:
    limiter = Limiter.from_kib(100)
    assert limiter.rate == 100 * KiB
    limiter.set_rate(0)
    assert limiter.rate is None
    assert Limiter.from_kib(0).rate is None and Limiter.from_kib(None).rate is None
    with pytest.raises(ValueError):
        limiter.set_rate(-1)


class ObservedLimiter(Limiter):
    """Says when a sender has started waiting (the condition's predicate runs first)."""

    def __init__(self, rate: float) -> None:
        super().__init__(rate)
        self.waiting = threading.Event()

    def _changed(self, seen: int) -> bool:
        self.waiting.set()
        return super()._changed(seen)


@pytest.mark.parametrize("new_rate", [None, 1e12], ids=["lifted", "raised"])
def test_a_waiting_sender_is_woken_by_a_rate_change(new_rate: float | None) -> None:
    limiter = ObservedLimiter(1.0)  # one byte a second: this take would wait ~12 days
    done = threading.Event()

    def send() -> None:
        limiter.take(MiB)
        done.set()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    assert limiter.waiting.wait(10), "the sender never started waiting"
    limiter.set_rate(new_rate)
    assert done.wait(10), "the sender kept waiting at the old rate"
    sender.join(10)


def test_limited_reader_paces_reads() -> None:
    limiter, time = fake_limiter(100 * KiB, burst=PIECE)
    reader = LimitedReader(io.BytesIO(bytes(MiB)), limiter)
    total = 0
    while chunk := reader.read(PIECE):
        total += len(chunk)
    assert total == MiB
    assert time.now == pytest.approx((MiB - PIECE) / (100 * KiB), rel=0.01)
    assert reader.tell() == MiB and reader.seek(0) == 0


def test_limited_storage_forwards_capabilities_and_put_many() -> None:
    inner = MemoryStorage()
    limiter, time = fake_limiter(64 * KiB, burst=PIECE)
    storage = LimitedStorage(inner, limiter)
    assert storage.capabilities == inner.capabilities
    assert storage.description == inner.description
    storage.put_many([("index/a", bytes(PIECE)), ("index/b", bytes(PIECE))])
    assert time.now == pytest.approx(1.0)  # the second piece waited a second
    assert set(inner.raw()) == {"index/a", "index/b"}


class TestLimitedMemory(StorageContract):
    """The decorator passes the whole contract (at a rate that costs no time)."""

    @pytest.fixture
    def storage(self) -> LimitedStorage[MemoryStorage]:
        return LimitedStorage(MemoryStorage(), Limiter(1e12))
