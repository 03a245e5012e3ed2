"""Issue 14 (restore side, round 3): large files restored by two threads.

A large file's blobs are verified and written (``pwrite`` at their place in the file)
by the writer thread and a helper at once. The guarantees must not move:

* Large files, compressible or not, beside small ones in the same folders, come back
  byte-exact with their modes and times, through the two-thread path.
* A damaged blob in the middle of a large file: that file is named and not restored
  (nothing of it in the target, no temp file left), the other files of its folder
  are restored.
* A restore cancelled in the middle of large files leaves no temp file behind.
* A large file that replaces an existing one is flushed before the rename.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from app.core.cancel import CancelToken
from app.core.errors import CancelledError
from app.engine.packer import pack_name
from app.engine.restore_large import LARGE_FILE
from app.engine.restore_write import TMP_PREFIX
from app.engine.tree import resolve
from tests.reliability.harness import VaultTemplate, assert_same_tree, restored_root
from tests.reliability.test_round2_restore import _SyscallLog


def _text(rng: random.Random, size: int) -> bytes:
    words = [b"keepsake", b"restore", b"photo", b"folder", b"the", b"of", b"a", b"chunk"]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words) + b" "
    return bytes(out[:size])


def _mixed_folder(root: Path, seed: int) -> dict[str, int]:
    """Large random and large text files (many chunks each with the suite's small
    chunker) among small notes, in two folders; name -> size."""
    rng = random.Random(seed)
    sizes: dict[str, int] = {}
    for sub in ("a", "a/b"):
        folder = root / sub
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(4):
            size = rng.randrange(LARGE_FILE, 3 * LARGE_FILE)
            (folder / f"photo{i}.jpg").write_bytes(rng.randbytes(size))
            sizes[f"{sub}/photo{i}.jpg"] = size
            text = rng.randrange(LARGE_FILE, 2 * LARGE_FILE)
            (folder / f"doc{i}.txt").write_bytes(_text(rng, text))
            sizes[f"{sub}/doc{i}.txt"] = text
            (folder / f"note{i}.txt").write_bytes(b"note %d\n" % i)
            sizes[f"{sub}/note{i}.txt"] = 7
        os.chmod(folder / "photo1.jpg", 0o640)
        os.utime(folder / "doc2.txt", ns=(1_500_000_000_123_456_789, 1_500_000_000_123_456_789))
    return sizes


def _temp_files(root: Path) -> list[str]:
    return [
        name
        for _dir, _dirs, files in os.walk(root)
        for name in files
        if name.encode().startswith(TMP_PREFIX)
    ]


def test_large_files_restore_exactly_beside_small_ones(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    sizes = _mixed_folder(src, seed=1)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c") as vault:
        vault.backup([str(src)])
    real_pwrite = os.pwrite
    placed: list[int] = []  # bytes written at an offset (the large-file path)

    def pwrite(fd: int, data: Any, offset: int) -> int:
        n = real_pwrite(fd, data, offset)
        placed.append(n)
        return n

    monkeypatch.setattr(os, "pwrite", pwrite)
    target = tmp_path / "out"
    with template.open(vault_dir, tmp_path / "c2") as vault:
        result = vault.restore("latest", str(target))
    assert result.files_restored == len(sizes) and not result.warnings, result.warnings
    assert_same_tree(src, restored_root(target, src))
    large = sum(size for size in sizes.values() if size >= LARGE_FILE)
    assert sum(placed) == large  # every large file went through the two-thread path
    assert not _temp_files(target)


def test_a_damaged_blob_in_a_large_file_is_named_and_leaves_no_trace(
    template: VaultTemplate, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    _mixed_folder(src, seed=2)
    victim = src / "a" / "photo2.jpg"
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c") as vault:
        snapshot = vault.backup([str(src)]).snapshot_id
        node = resolve(vault.repo, bytes.fromhex(vault.find_snapshot(snapshot).tree), str(victim))
        assert node is not None and len(node.content) >= 3
        middle = node.content[len(node.content) // 2]
        _type, pack, offset, length, _raw = vault.repo.cache.lookup_blobs({middle})[middle]
    packfile = vault_dir / pack_name(pack)
    data = bytearray(packfile.read_bytes())
    data[offset + length // 2] ^= 0x5A
    packfile.write_bytes(bytes(data))
    target = tmp_path / "out"
    with template.open(vault_dir, tmp_path / "c2") as vault:
        result = vault.restore("latest", str(target))
    named = [w.path for w in result.warnings]
    assert named == [str(victim)], result.warnings
    root = restored_root(target, src)
    assert not (root / "a" / "photo2.jpg").exists()
    assert not _temp_files(target)
    for path in (src / "a").iterdir():  # the rest of its folder is there, exact
        if path.is_file() and path != victim:
            assert (root / "a" / path.name).read_bytes() == path.read_bytes(), path.name


def test_a_restore_cancelled_among_large_files_leaves_no_temp_file(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    _mixed_folder(src, seed=3)
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c") as vault:
        vault.backup([str(src)])
    cancel = CancelToken()
    real_pwrite = os.pwrite
    writes = 0

    def pwrite(fd: int, data: Any, offset: int) -> int:
        nonlocal writes
        writes += 1
        if writes == 5:  # some large files begun, none finished
            cancel.cancel()
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", pwrite)
    target = tmp_path / "out"
    with template.open(vault_dir, tmp_path / "c2") as vault, pytest.raises(CancelledError):
        vault.restore("latest", str(target), cancel=cancel)
    assert writes >= 5
    assert not _temp_files(target)


def test_a_large_file_replacing_an_existing_one_is_flushed_first(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    big = random.Random(4).randbytes(3 * LARGE_FILE)
    (src / "big.bin").write_bytes(big)
    vault_dir = template.copy_to(tmp_path / "vault")
    target = tmp_path / "out"
    with template.open(vault_dir, tmp_path / "c") as vault:
        vault.backup([str(src)])
        vault.restore("latest", str(target))
        old = restored_root(target, src) / "big.bin"
        old.write_bytes(b"old good copy")
        log = _SyscallLog(monkeypatch)
        result = vault.restore("latest", str(target))
    assert result.files_restored == 1 and not result.warnings
    assert old.read_bytes() == big
    (ino,) = [ino for kind, ino in log.events if kind == "replace"]
    assert log.events.index(("sync", ino)) < log.events.index(("replace", ino))
    assert ("sync", os.stat(old.parent).st_ino) in log.events


def test_one_large_file_restored_to_a_path(template: VaultTemplate, tmp_path: Path) -> None:
    """The browser's "restore to..." of one large file (no writer thread: the calling
    thread and the helper share its blobs)."""
    src = tmp_path / "src"
    src.mkdir()
    data = random.Random(5).randbytes(4 * LARGE_FILE + 17)
    (src / "video.mp4").write_bytes(data)
    os.chmod(src / "video.mp4", 0o604)
    vault_dir = template.copy_to(tmp_path / "vault")
    dest = tmp_path / "dest" / "copy.mp4"
    dest.parent.mkdir()
    with template.open(vault_dir, tmp_path / "c") as vault:
        vault.backup([str(src)])
        vault.restore_file("latest", str(src / "video.mp4"), str(dest))
    assert dest.read_bytes() == data
    assert os.stat(dest).st_mtime_ns == os.stat(src / "video.mp4").st_mtime_ns
    assert os.stat(dest).st_mode & 0o777 == 0o604
    assert not _temp_files(dest.parent)
