"""Back up, restore and check a vault on the loopback S3 server while 10% of requests
fail, through a proxy that drops connections, loses replies, throttles (503
SlowDown), answers 500 and cuts bodies short.

Every fault kind on its own and all at once: the backup completes, the restore is
byte-exact and ``check --read-data`` clean. Parts are small so packs also travel as
multipart uploads (and resume); retries are bounded and never sleep for real.
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest

from app.engine.vault import Vault
from app.storage.retry import RetryingStorage
from app.storage.s3.backend import MIN_PART, S3Storage
from app.storage.s3.config import parse_location
from tests.helpers import random_bytes, restored_root, tree_digest, write
from tests.s3_server import FaultProxy, RcloneS3, S3Faults
from tests.s3_server.client import settings_for
from tests.s3_server.faults import FAULTS

pytest_plugins = ["tests.s3_conftest"]

MiB = 1024 * 1024


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The passphrase KDF (slow by design) is not under test here."""

    def derive(secret: str, params: object, salt: bytes) -> bytes:
        return hashlib.sha256(salt + secret.encode()).digest()

    monkeypatch.setattr("app.engine.crypto.derive_kek", derive)


def small_tree(root: Path, seed: int) -> Path:
    r = random.Random(seed)
    for i in range(10):
        write(root / f"dir{i % 3}" / f"file{i}.bin", r.randbytes(r.randint(0, 100_000)))
    write(root / "photos" / "big.jpg", random_bytes(7 * MiB, seed))  # a pack over 5 MiB
    write(root / "notes.txt", b"hello\n" * 1000)
    return root


def run_roundtrip(proxy: FaultProxy, spec: str, tmp_path: Path, seed: int) -> S3Storage:
    inner = S3Storage(
        parse_location(spec),
        settings=settings_for(proxy.endpoint),
        multipart_threshold=MIN_PART,
        part_size=MIN_PART,
        list_page_size=3,
        attempts=6,
        sleep=no_sleep,
        read_timeout=20,
    )
    storage = RetryingStorage(inner, attempts=12, sleep=no_sleep)
    src = small_tree(tmp_path / "src", seed)
    vault, _recovery = Vault.create(storage, "pw", cache_root=tmp_path / "cache")
    with vault:
        first = vault.backup([str(src)])
        write(src / "notes.txt", b"changed\n" * 1000)
        second = vault.backup([str(src)])
        assert second.files_changed == 1
    # A fresh cache: everything is read back through the faulty link.
    with Vault.open(storage, passphrase="pw", cache_root=tmp_path / "cache2") as again:
        target = tmp_path / "restore"
        again.restore(second.snapshot_id, str(target))
        assert tree_digest(restored_root(target, src)) == tree_digest(src)
        check = again.check(read_data=True)
        assert check.ok, check.problems
        assert {s.id for s in again.snapshots()} == {first.snapshot_id, second.snapshot_id}
    storage.close()
    return inner


@pytest.mark.parametrize("kind", FAULTS)
def test_roundtrip_with_ten_percent_faults(
    kind: str, s3_server: RcloneS3, s3_spec: str, tmp_path: Path
) -> None:
    faults = S3Faults(**{kind: 0.10})
    with FaultProxy(s3_server.endpoint, faults=faults, seed=len(kind)) as proxy:
        inner = run_roundtrip(proxy, s3_spec, tmp_path, seed=3)
    assert proxy.injected[kind] > 0, "the run should have met some faults"
    assert inner.calls["UploadPart"] >= 2  # the big file's pack went up in parts


def test_roundtrip_with_every_fault_at_once(
    s3_server: RcloneS3, s3_spec: str, tmp_path: Path
) -> None:
    faults = S3Faults(drop=0.03, drop_reply=0.03, slow_down=0.03, error_500=0.03, truncate=0.03)
    with FaultProxy(s3_server.endpoint, faults=faults, seed=42) as proxy:
        run_roundtrip(proxy, s3_spec, tmp_path, seed=42)
    assert len(proxy.injected) >= 4
