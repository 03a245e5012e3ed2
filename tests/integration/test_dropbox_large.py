"""A 300 MiB object through real upload sessions (default 150 MiB threshold, 32 MiB
chunks), with a lost reply and a server error on the way, verified by content hash."""

from __future__ import annotations

import hashlib

from app.storage import content_hash as ch
from app.storage.dropbox.factory import DropboxRetryingStorage
from tests.dropbox_emulator import DropboxEmulator
from tests.dropbox_emulator.helpers import storage_on
from tests.dropbox_emulator.store import FileEntry

pytest_plugins = ["tests.dropbox_conftest"]

MiB = 1024 * 1024


def big_object(size: int) -> bytes:
    """Incompressible-looking bytes, quickly: a SHA-256 counter stream would be slow,
    so repeat a 1 MiB random block with a per-MiB twist."""
    block = hashlib.sha256(b"seed").digest() * (MiB // 32)
    out = bytearray(size)
    for i in range(0, size, MiB):
        piece = bytes([i // MiB % 251]) + block[1:]
        out[i : i + MiB] = piece[: min(MiB, size - i)]
    return bytes(out)


def test_300_mib_object_uses_sessions_and_resumes(dropbox_emulator: DropboxEmulator) -> None:
    size = 300 * MiB
    data = big_object(size)
    inner = storage_on(dropbox_emulator, timeout=60.0)
    storage = DropboxRetryingStorage(inner, sleep=lambda _s: None)
    dropbox_emulator.fail_next("files/upload_session/append_v2", "drop_after")
    dropbox_emulator.fail_next("files/upload_session/append_v2", "error_500")
    storage.put("data/ff/huge", data)

    calls = dropbox_emulator.stats()["calls"]
    chunks = -(-size // inner.chunk_size)  # 10 x 32 MiB: start, 8 appends, finish
    assert calls["files/upload_session/start"] == 1
    assert calls["files/upload_session/append_v2"] == chunks - 2 + 2
    assert calls["files/upload_session/finish"] == 1
    assert "files/upload" not in calls
    assert storage.stat("data/ff/huge").size == size
    entry = dropbox_emulator.store.entries["/vault/data/ff/huge"]
    assert isinstance(entry, FileEntry)
    assert entry.content_hash == ch.content_hash(data)
    for offset in (0, 150 * MiB - 10, size - 4096):
        assert storage.get_range("data/ff/huge", offset, 4096) == data[offset : offset + 4096]
