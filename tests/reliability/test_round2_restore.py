"""Issue 11, items 8 and 9: restore's durability and the setuid/setgid bits.

* A file that replaces an existing one is flushed to disk before the rename (and its
  folder after), so a power loss cannot leave an empty file where a good one was.
  Observed with the real system calls, recorded on their way through.
* Owners are not stored, so restore never sets setuid or setgid: restoring as root
  must not turn a user's own setuid program into a setuid-root one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.harness import VaultTemplate, restored_root


class _SyscallLog:
    """Wraps os.fsync/os.fdatasync/os.replace, recording (call, inode) in order."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple[str, int]] = []
        for name in ("fsync", "fdatasync"):
            if hasattr(os, name):
                monkeypatch.setattr(os, name, self._sync(getattr(os, name), name))
        real_replace = os.replace

        def replace(src: Any, dst: Any, *, src_dir_fd: int | None = None, **kw: Any) -> None:
            st = os.stat(src, dir_fd=src_dir_fd, follow_symlinks=False)
            real_replace(src, dst, src_dir_fd=src_dir_fd, **kw)
            self.events.append(("replace", st.st_ino))
            if src_dir_fd is not None:
                self.events.append(("replace-in", os.fstat(src_dir_fd).st_ino))

        monkeypatch.setattr(os, "replace", replace)

    def _sync(self, real: Callable[[int], None], name: str) -> Callable[[int], None]:
        def sync(fd: int) -> None:
            self.events.append(("sync", os.fstat(fd).st_ino))
            real(fd)

        return sync


def test_restore_flushes_a_file_before_it_replaces_an_existing_one(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    for i in range(4):
        (src / "sub" / f"f{i}.txt").write_bytes(os.urandom(5000 + i))
    vault_dir = template.copy_to(tmp_path / "vault")
    target = tmp_path / "t"
    with template.open(vault_dir, tmp_path / "c") as vault:
        vault.backup([str(src)])
        vault.restore("latest", str(target))  # a first restore: the files exist now
        old = restored_root(target, src) / "sub"
        for path in old.iterdir():
            path.write_bytes(b"old good copy")
        log = _SyscallLog(monkeypatch)
        result = vault.restore("latest", str(target))
    assert result.files_restored == 4 and not result.warnings
    for i in range(4):
        assert (old / f"f{i}.txt").read_bytes() == (src / "sub" / f"f{i}.txt").read_bytes()
    replaced = [ino for kind, ino in log.events if kind == "replace"]
    assert len(replaced) == 4
    for ino in replaced:
        synced_at = log.events.index(("sync", ino))
        assert synced_at < log.events.index(("replace", ino)), "renamed before it was on disk"
    folder = os.stat(old).st_ino
    last_replace = max(i for i, e in enumerate(log.events) if e == ("replace-in", folder))
    assert ("sync", folder) in log.events[last_replace:], "folder not flushed after the renames"


def test_restore_one_file_over_an_existing_one_is_flushed_first(
    template: VaultTemplate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_bytes(b"version in the vault\n")
    dest = tmp_path / "out" / "a.txt"
    dest.parent.mkdir()
    dest.write_bytes(b"old good copy\n")
    vault_dir = template.copy_to(tmp_path / "vault")
    with template.open(vault_dir, tmp_path / "c") as vault:
        vault.backup([str(src)])
        log = _SyscallLog(monkeypatch)
        vault.restore_file("latest", str(src / "a.txt"), str(dest))
    assert dest.read_bytes() == b"version in the vault\n"
    (ino,) = [ino for kind, ino in log.events if kind == "replace"]
    assert log.events.index(("sync", ino)) < log.events.index(("replace", ino))
    assert ("sync", os.stat(dest.parent).st_ino) in log.events


def test_restore_never_sets_setuid_or_setgid(template: VaultTemplate, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shared = src / "shared"
    shared.mkdir(parents=True)
    programs = {"suid": 0o4755, "sgid": 0o2755, "both": 0o6750, "plain": 0o751}
    for name, mode in programs.items():
        path = src / name
        path.write_bytes(b"#!/bin/sh\necho hi\n")
        os.chmod(path, mode)
    os.chmod(shared, 0o3775)  # setgid + sticky folder
    assert os.stat(src / "suid").st_mode & stat.S_ISUID  # the source really has the bits
    vault_dir = template.copy_to(tmp_path / "vault")
    target = tmp_path / "t"
    with template.open(vault_dir, tmp_path / "c") as vault:
        vault.backup([str(src)])
        result = vault.restore("latest", str(target))
        assert not result.warnings
        vault.restore_file("latest", str(src / "suid"), str(tmp_path / "one-file"))
    root = restored_root(target, src)
    for name, mode in programs.items():
        assert stat.S_IMODE(os.stat(root / name).st_mode) == mode & 0o1777, name
    assert stat.S_IMODE(os.stat(root / "shared").st_mode) == 0o1775
    assert stat.S_IMODE(os.stat(tmp_path / "one-file").st_mode) == 0o755
