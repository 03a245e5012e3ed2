"""Storage faults: a drive that fills up, fails reads and writes, is read-only, or
disappears in the middle of a run.

Every run must either finish or stop with a clear ``AppError`` (one sentence, a
stable code), and afterwards the vault must pass ``check --read-data``, the next
backup must complete, and the latest snapshot must restore byte-exact.
"""

from __future__ import annotations

import errno
import random
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.core.errors import AppError, ErrorCode, StorageError
from app.engine.retention import RetentionPolicy
from app.storage.local import LocalStorage
from tests.reliability.faults import FaultPlan, FaultyStorage, can_mount, remount, tmpfs
from tests.reliability.harness import (
    VaultTemplate,
    assert_same_tree,
    cli_args,
    cli_env,
    digest_tree,
    restored_root,
    run_cli,
    scale,
    write_tree,
)

needs_mount = pytest.mark.skipif(not can_mount(), reason="needs root and mount(8) for tmpfs")


@dataclass
class Setup:
    vault: Path
    source: Path
    before: dict[str, tuple[str, str]]  # the source at the first snapshot


def _setup(template: VaultTemplate, tmp_path: Path, vault_dir: Path | None = None) -> Setup:
    rng = random.Random(4)
    source = tmp_path / "src"
    write_tree(source, rng, files=8, max_size=150_000)
    if vault_dir is None:
        vault_dir = template.copy_to(tmp_path / "vault")
    else:
        shutil.copytree(template.path, vault_dir, dirs_exist_ok=True)
    with template.open(vault_dir, tmp_path / "setup-cache") as vault:
        vault.backup([str(source)])
    before = digest_tree(source)
    write_tree(source / "more", rng, files=16, max_size=400_000)
    return Setup(vault_dir, source, before)


def _assert_clear(exc: AppError) -> None:
    assert exc.message and "\n" not in exc.message and "Traceback" not in exc.message
    assert exc.code in (ErrorCode.STORAGE, ErrorCode.STORAGE_FULL, ErrorCode.STORAGE_UNAVAILABLE)


def _assert_healthy(template: VaultTemplate, setup: Setup, cache: Path, work: Path) -> None:
    """The vault is valid, the next backup completes, the latest restores exact."""
    with template.open(setup.vault, cache) as vault:
        result = vault.check(read_data=True)
        assert result.ok, result.problems
        assert not vault.backup([str(setup.source)]).warnings
        target = work / "restore"
        assert not vault.restore("latest", str(target)).warnings
    assert_same_tree(setup.source, restored_root(target, setup.source))
    shutil.rmtree(target)


WRITE_FAULTS = [(code, sticky) for code in (errno.ENOSPC, errno.EIO) for sticky in (True, False)]


@pytest.mark.parametrize(("code", "sticky"), WRITE_FAULTS)
def test_backup_with_failing_writes(
    template: VaultTemplate, tmp_path: Path, code: int, sticky: bool
) -> None:
    """ENOSPC/EIO on the Nth write (once, or from then on) at many N spread over pack,
    index, lock and snapshot writes."""
    setup = _setup(template, tmp_path)
    pristine = tmp_path / "pristine"
    shutil.copytree(setup.vault, pristine)
    # Count the writes of a clean run to spread the fault over all of them.
    probe = FaultyStorage(LocalStorage(tmp_path / "probe"), FaultPlan(("put",)))
    shutil.copytree(pristine, tmp_path / "probe")
    with template.open(tmp_path / "probe", tmp_path / "probe-cache", probe) as vault:
        vault.backup([str(setup.source)])
    total = probe.calls["put"]
    assert total >= 8, total
    points = sorted({1 + (i * total) // (6 * scale()) for i in range(6 * scale())} | {total})
    outcomes: dict[str, int] = {}
    for n in points:
        shutil.rmtree(setup.vault)
        shutil.copytree(pristine, setup.vault)
        cache = tmp_path / f"cache-{n}"
        faulty = FaultyStorage(
            LocalStorage(setup.vault), FaultPlan(("put",), error=code, after=n, sticky=sticky)
        )
        with template.open(setup.vault, cache, faulty) as vault:
            try:
                vault.backup([str(setup.source)])
                outcomes["finished"] = outcomes.get("finished", 0) + 1
            except AppError as exc:
                _assert_clear(exc)
                if code == errno.ENOSPC:
                    assert exc.code == ErrorCode.STORAGE_FULL
                outcomes["stopped"] = outcomes.get("stopped", 0) + 1
        _assert_healthy(template, setup, cache, tmp_path)
    print(f"write faults {errno.errorcode[code]} sticky={sticky}: {outcomes} of {total} writes")
    assert outcomes.get("stopped", 0) >= 1


@pytest.mark.parametrize("method", ["get", "get_range", "list"])
def test_restore_and_check_with_failing_reads(
    template: VaultTemplate, tmp_path: Path, method: str
) -> None:
    """EIO on reads: restore and check stop clearly or finish; a restored file is
    never partial or wrong, and the vault itself is untouched."""
    setup = _setup(template, tmp_path)
    with template.open(setup.vault, tmp_path / "c0") as vault:
        vault.backup([str(setup.source)])
    want = digest_tree(setup.source)
    for n in range(1, 8 * scale()):
        faulty = FaultyStorage(
            LocalStorage(setup.vault), FaultPlan((method,), after=n * 3, sticky=False, seed=n)
        )
        target = tmp_path / f"t{n}"
        with template.open(setup.vault, tmp_path / f"c{n}", faulty) as vault:
            try:
                result = vault.restore("latest", str(target))
                failed_paths = {w.path for w in result.warnings}
            except AppError as exc:
                _assert_clear(exc)
                failed_paths = None
            try:
                vault.check(read_data=True)
            except AppError as exc:
                _assert_clear(exc)
        root = restored_root(target, setup.source)
        got = digest_tree(root) if root.exists() else {}
        for rel, value in got.items():
            assert ".keepsake-restore-" not in rel, f"temp file left: {rel}"
            assert want.get(rel) == value, f"{rel} restored wrong after a read fault"
        if failed_paths is not None and not failed_paths:
            assert got == want
        shutil.rmtree(target, ignore_errors=True)
    _assert_healthy(template, setup, tmp_path / "final", tmp_path)


def test_prune_with_failing_writes_and_deletes(template: VaultTemplate, tmp_path: Path) -> None:
    setup = _setup(template, tmp_path)
    with template.open(setup.vault, tmp_path / "c0") as vault:
        for i in range(3):
            write_tree(setup.source / f"gen{i}", random.Random(i), files=4, max_size=300_000)
            vault.backup([str(setup.source)])
            shutil.rmtree(setup.source / f"gen{i}")
        vault.backup([str(setup.source)])
        vault.forget(RetentionPolicy(last=1))
    pristine = tmp_path / "pristine"
    shutil.copytree(setup.vault, pristine)
    stopped = 0
    for method in ("put", "delete"):
        for n in (1, 2, 3, 5, 8):
            shutil.rmtree(setup.vault)
            shutil.copytree(pristine, setup.vault)
            faulty = FaultyStorage(
                LocalStorage(setup.vault), FaultPlan((method,), error=errno.EIO, after=n)
            )
            with template.open(setup.vault, tmp_path / f"c-{method}-{n}", faulty) as vault:
                try:
                    vault.prune()
                except AppError as exc:
                    _assert_clear(exc)
                    stopped += 1
            _assert_healthy(template, setup, tmp_path / f"h-{method}-{n}", tmp_path)
    assert stopped >= 5


def test_vault_folder_disappears_during_cli_backup(template: VaultTemplate, tmp_path: Path) -> None:
    """The drive is unplugged (the folder vanishes) after a few packs: the CLI stops
    with one clear line and exit 1; plugged back, the vault is valid."""
    setup = _setup(template, tmp_path)
    away = tmp_path / "unplugged"
    home = tmp_path / "home"

    def unplug_after_packs() -> bool:
        packs = sum(1 for _ in (setup.vault / "data").rglob("*"))
        if packs >= 8:
            setup.vault.rename(away)
            return True
        return False

    args = cli_args("backup", "--repo", str(setup.vault), str(setup.source))
    import subprocess

    proc = subprocess.Popen(
        args, env=cli_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    import time

    deadline = time.monotonic() + 60
    unplugged = False
    while not unplugged and proc.poll() is None and time.monotonic() < deadline:
        unplugged = unplug_after_packs()
        time.sleep(0.0005)
    _out, err = proc.communicate(timeout=60)
    if not unplugged:
        pytest.skip("the backup finished before the drive could be unplugged")
    assert proc.returncode == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert "connected" in err or "missing" in err or "not writable" in err, err
    assert not setup.vault.exists() or not any(setup.vault.iterdir()), "wrote to a fake folder"
    if setup.vault.exists():
        shutil.rmtree(setup.vault)
    away.rename(setup.vault)
    _assert_healthy(template, setup, home / "cache", tmp_path)


@needs_mount
def test_real_disk_full_then_more_space(template: VaultTemplate, tmp_path: Path) -> None:
    """A real, small filesystem fills up mid-backup: exit 1 with 'full', the vault
    stays valid, and with more space the next run completes and reuses the packs."""
    mnt = tmp_path / "drive"
    try:
        ctx = tmpfs(mnt, "1500k")
        ctx.__enter__()
    except OSError as exc:
        pytest.skip(str(exc))
    try:
        setup = _setup(template, tmp_path, vault_dir=mnt / "vault")
        home = tmp_path / "home"
        done = run_cli("backup", "--repo", str(setup.vault), str(setup.source), env=cli_env(home))
        assert done.returncode == 1, done.stderr
        assert "full" in done.stderr and "Traceback" not in done.stderr, done.stderr
        with template.open(setup.vault, home / "cache") as vault:
            assert vault.check(read_data=True).ok
            target = tmp_path / "old"
            assert not vault.restore("latest", str(target)).warnings
        got = digest_tree(restored_root(target, setup.source))
        assert got == setup.before
        remount(mnt, "size=64m")
        _assert_healthy(template, setup, home / "cache", tmp_path)
    finally:
        ctx.__exit__(None, None, None)


@needs_mount
def test_read_only_vault(template: VaultTemplate, tmp_path: Path) -> None:
    """On a read-only drive, backup stops clearly; check and restore still work."""
    mnt = tmp_path / "drive"
    try:
        ctx = tmpfs(mnt, "64m")
        ctx.__enter__()
    except OSError as exc:
        pytest.skip(str(exc))
    try:
        setup = _setup(template, tmp_path, vault_dir=mnt / "vault")
        remount(mnt, "ro")
        home = tmp_path / "home"
        env = cli_env(home)
        done = run_cli("backup", "--repo", str(setup.vault), str(setup.source), env=env)
        assert done.returncode == 1 and "not writable" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        check = run_cli("check", "--repo", str(setup.vault), "--read-data", env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        target = tmp_path / "t"
        restore = run_cli(
            "restore", "--repo", str(setup.vault), "latest", "--target", str(target), env=env
        )
        assert restore.returncode == 0, restore.stderr
        assert digest_tree(restored_root(target, setup.source)) == setup.before
        remount(mnt, "rw")
        _assert_healthy(template, setup, home / "cache", tmp_path)
    finally:
        ctx.__exit__(None, None, None)


def test_storage_errors_are_app_errors() -> None:
    assert issubclass(StorageError, AppError)
