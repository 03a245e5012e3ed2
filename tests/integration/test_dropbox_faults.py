"""Back up, restore and check a vault in the emulator while 10% of calls fail.

Every fault kind, three seeds each: the backup must complete, the restore must be
byte-exact and ``check --read-data`` clean; retries are bounded and never sleep
for real (the retry layer gets a no-op sleep; the server asks for ``retry_after: 0``).
"""

from __future__ import annotations

import hashlib
import random
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import StorageFullError
from app.engine.vault import Vault
from app.storage.dropbox.config import DropboxCredentials
from app.storage.dropbox.factory import DropboxRetryingStorage
from tests.dropbox_emulator import DropboxEmulator, Faults
from tests.dropbox_emulator.helpers import storage_on
from tests.helpers import random_bytes, restored_root, tree_digest, write

KINDS = [
    "error_500",
    "error_503",
    "rate_limit_json",
    "rate_limit_text",
    "drop",
    "truncate",
    "slow",
    "cursor_reset",
]
MiB = 1024 * 1024


def no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    """The passphrase KDF (~0.3 s by design) is not under test here; 24 runs would
    spend most of their time in it."""

    def derive(secret: str, params: object, salt: bytes) -> bytes:
        return hashlib.sha256(salt + secret.encode()).digest()

    monkeypatch.setattr("app.engine.crypto.derive_kek", derive)


def small_tree(root: Path, seed: int) -> Path:
    r = random.Random(seed)
    for i in range(10):
        write(root / f"dir{i % 3}" / f"file{i}.bin", r.randbytes(r.randint(0, 100_000)))
    write(root / "photos" / "big.jpg", random_bytes(5 * MiB // 2, seed))
    write(root / "notes.txt", b"hello\n" * 1000)
    return root


def run_roundtrip(
    emulator: DropboxEmulator, tmp_path: Path, seed: int, **storage_options: Any
) -> None:
    inner = storage_on(
        emulator,
        # Small thresholds so packs also travel through upload sessions (and resume).
        session_threshold=2 * MiB,
        chunk_size=4 * MiB,
        flaky_chunk_size=4 * MiB,
        list_page_size=2,
        **storage_options,
    )
    storage = DropboxRetryingStorage(inner, attempts=12, sleep=no_sleep)
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


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("kind", KINDS)
def test_roundtrip_with_ten_percent_faults(kind: str, seed: int, tmp_path: Path) -> None:
    faults = Faults.only(kind, 0.10, retry_after=0, slow_seconds=0.2)
    options: dict[str, object] = {"timeout": 0.1} if kind == "slow" else {}
    with DropboxEmulator(tmp_path / "emu", faults=faults, seed=seed) as emulator:
        if kind == "cursor_reset":  # only list continues can reset: make sure of one
            emulator.fail_next("files/list_folder/continue", "cursor_reset")
        run_roundtrip(emulator, tmp_path, seed, **options)
        injected = emulator.stats()["faults_injected"]
    assert sum(injected.values()) > 0, "the run should have met some faults"


def test_roundtrip_with_every_fault_at_once(tmp_path: Path) -> None:
    faults = Faults(
        error_500=0.03,
        error_503=0.03,
        rate_limit_json=0.03,
        rate_limit_text=0.03,
        drop=0.03,
        truncate=0.03,
        cursor_reset=0.2,
        retry_after=0,
    )
    with DropboxEmulator(tmp_path / "emu", faults=faults, seed=42) as emulator:
        run_roundtrip(emulator, tmp_path, 42)
        assert len(emulator.stats()["faults_injected"]) >= 4


@pytest.mark.usefixtures("fast_kdf")
def test_access_token_expiring_mid_backup_is_refreshed(tmp_path: Path) -> None:
    with DropboxEmulator(tmp_path / "emu") as emulator:
        creds = DropboxCredentials(
            refresh_token=emulator.issue_refresh_token(), app_key=emulator.app_key
        )
        storage = DropboxRetryingStorage(storage_on(emulator, credentials=creds), sleep=no_sleep)
        src = small_tree(tmp_path / "src", 5)
        vault, _ = Vault.create(storage, "pw", cache_root=tmp_path / "cache")
        # Expire every access token at the third upload of the backup: the SDK gets a
        # 401 expired_access_token, refreshes with the refresh token and replays.
        emulator.reset_stats()
        emulator.fail_next("files/upload", "expire_tokens", times=1)
        with vault:
            result = vault.backup([str(src)])
            target = tmp_path / "restore"
            vault.restore(result.snapshot_id, str(target))
        assert tree_digest(restored_root(target, src)) == tree_digest(src)
        assert emulator.stats()["calls"]["oauth2/token"] == 1
        assert emulator.stats()["faults_injected"] == {"expire_tokens": 1}
        storage.close()


@pytest.mark.usefixtures("fast_kdf")
def test_dropbox_full_stops_the_backup_and_leaves_a_valid_vault(tmp_path: Path) -> None:
    with DropboxEmulator(tmp_path / "emu") as emulator:
        storage = DropboxRetryingStorage(storage_on(emulator), sleep=no_sleep)
        src = small_tree(tmp_path / "src", 6)
        vault, _ = Vault.create(storage, "pw", cache_root=tmp_path / "cache")
        with vault:
            first = vault.backup([str(src)])
            emulator.quota_bytes = emulator.store.used_bytes() + 1 * MiB
            write(src / "photos" / "new.jpg", random_bytes(4 * MiB, 99))
            with pytest.raises(StorageFullError, match="Dropbox is full"):
                vault.backup([str(src)])
            assert storage.retries == 0
        with Vault.open(storage, passphrase="pw", cache_root=tmp_path / "cache2") as again:
            assert [s.id for s in again.snapshots()] == [first.snapshot_id]
            assert again.check(read_data=True).ok
            emulator.quota_bytes = 2 * 1024**4  # the user freed space: the next run completes
            again.backup([str(src)])
            assert len(again.snapshots()) == 2
        storage.close()
