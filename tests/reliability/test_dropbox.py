"""The Dropbox variants: kill -9 during ``keepsake backup --repo dropbox:NAME``, and
every fault kind of the HTTPS emulator at 20% of requests.

The emulator (tests/dropbox_emulator) speaks the API v2 subset the official SDK
uses; the CLI in a subprocess reaches it through the documented environment
(``DROPBOX_API_HOST``..., ``KEEPSAKE_DROPBOX_CA_BUNDLE``, a static token). The
vault is a copy of the suite's template (small packs), uploaded object by object.
"""

from __future__ import annotations

import json
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.errors import AppError
from app.storage.dropbox.factory import DropboxRetryingStorage
from tests.dropbox_emulator import FAULT_KINDS, DropboxEmulator, Faults
from tests.dropbox_emulator.helpers import storage_on
from tests.reliability.harness import (
    VaultTemplate,
    assert_same_tree,
    cli_args,
    cli_env,
    kill_when,
    restored_root,
    run_cli,
    scale,
    vault_objects,
    write_tree,
)

VAULT = "Reliability"


def _no_sleep(_seconds: float) -> None:
    pass


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[DropboxEmulator]:
    with DropboxEmulator(tmp_path / "dropbox", faults=Faults(retry_after=0)) as emu:
        yield emu


def _storage(emulator: DropboxEmulator, **options: object) -> DropboxRetryingStorage:
    return DropboxRetryingStorage(
        storage_on(emulator, VAULT, **options), attempts=12, sleep=_no_sleep
    )


def _upload_template(template: VaultTemplate, emulator: DropboxEmulator) -> None:
    storage = _storage(emulator)
    for path in vault_objects(template.path):
        storage.put(str(path.relative_to(template.path)), path.read_bytes())
    storage.close()


def _full_upload_from(
    emulator: DropboxEmulator, template: VaultTemplate, source: Path, mirror: Path
) -> int:
    """What an uninterrupted backup would upload from the vault's current state
    (measured on a local mirror of it, so Dropbox itself is untouched)."""
    storage = _storage(emulator)
    for info in storage.list(""):
        if not info.name.startswith("locks/"):
            path = mirror / info.name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(storage.get(info.name))
    storage.close()
    with template.open(mirror, mirror.parent / f"{mirror.name}-cache") as vault:
        uploaded = vault.backup([str(source)]).bytes_uploaded
    shutil.rmtree(mirror)
    return uploaded


def _uploads_reach(emulator: DropboxEmulator, count: int) -> Callable[[], bool]:
    return lambda: _uploads(emulator) >= count


def _uploads(emulator: DropboxEmulator) -> int:
    return sum(n for route, n in list(emulator.calls.items()) if "upload" in route)


def test_backup_killed_during_dropbox_upload(
    template: VaultTemplate, emulator: DropboxEmulator, tmp_path: Path
) -> None:
    """Kill the CLI after the Nth upload request reached Dropbox, for N spread over
    the run; after each kill the vault checks clean, the next backup completes and
    uploads less than a full run, and the latest snapshot restores byte-exact."""
    _upload_template(template, emulator)
    rng = random.Random(31)
    source = tmp_path / "src"
    write_tree(source, rng, files=14, max_size=500_000)
    home = tmp_path / "home"
    env = cli_env(home, **emulator.env())
    args = cli_args("backup", "--repo", f"dropbox:{VAULT}", str(source), "--json")
    before = _uploads(emulator)
    points = [1, 3, 5, 7] + list(range(9, 9 + 4 * (scale() - 1)))
    killed_points = 0
    for n in points:
        full_upload = _full_upload_from(emulator, template, source, tmp_path / f"mirror-{n}")
        start = _uploads(emulator)
        probe = _storage(emulator)
        packs_before = {o.name for o in probe.list("data/")}
        probe.close()
        killed, _code = kill_when(args, env, _uploads_reach(emulator, start + n))
        killed_points += killed
        storage = _storage(emulator)
        packs_after_kill = {o.name for o in storage.list("data/")}
        with template.open(tmp_path / "unused", home / "cache", storage) as vault:
            result = vault.check(read_data=True)
            assert result.ok, result.problems
        storage.close()
        done = run_cli("backup", "--repo", f"dropbox:{VAULT}", str(source), "--json", env=env)
        assert done.returncode == 0, done.stderr
        uploaded = json.loads(done.stdout)["bytes_uploaded"]
        if packs_after_kill - packs_before:
            assert uploaded < full_upload, (n, uploaded, full_upload)
        else:
            assert uploaded <= full_upload + 64 * 1024, (n, uploaded, full_upload)
        target = tmp_path / f"t{n}"
        storage = _storage(emulator)
        with template.open(tmp_path / "unused", home / "cache", storage) as vault:
            assert not vault.restore("latest", str(target)).warnings
        storage.close()
        assert_same_tree(source, restored_root(target, source))
        shutil.rmtree(target)
        # New data for the next round, so there is something left to upload.
        write_tree(source / f"round-{n}", rng, files=14, max_size=500_000)
    assert killed_points >= len(points) - 1, killed_points
    print(f"dropbox kill points: {killed_points} (uploads seen {_uploads(emulator) - before})")


@pytest.mark.parametrize("kind", FAULT_KINDS, ids=[f"{k}-at-20pct" for k in FAULT_KINDS])
def test_every_fault_kind_at_20_percent(
    template: VaultTemplate, emulator: DropboxEmulator, tmp_path: Path, kind: str
) -> None:
    """A backup, a restore and a check through a link where 20% of the requests
    fail in one way: each finishes or stops with a clear AppError, and with the
    link healthy again the vault is valid and everything restores."""
    _upload_template(template, emulator)
    rng = random.Random(kind)
    source = tmp_path / "src"
    write_tree(source, rng, files=16 * scale(), max_size=500_000)
    emulator.faults = Faults.only(kind, 0.2, retry_after=0, slow_seconds=0.05)
    outcome = {}
    storage = _storage(emulator, list_page_size=2)  # listings page: cursor faults apply
    try:
        with template.open(tmp_path / "unused", tmp_path / "cache", storage) as vault:
            for step in ("backup", "restore", "check"):
                try:
                    if step == "backup":
                        vault.backup([str(source)])
                        (source / "changed.txt").write_text(f"after the first {kind} run\n")
                        vault.backup([str(source)])
                    elif step == "restore":
                        result = vault.restore("latest", str(tmp_path / "t-faulty"))
                        assert not result.warnings, result.warnings
                        assert_same_tree(source, restored_root(tmp_path / "t-faulty", source))
                    else:
                        assert vault.check(read_data=True).ok
                    outcome[step] = "finished"
                except AppError as exc:
                    assert exc.message and "Traceback" not in exc.message
                    outcome[step] = f"stopped: {exc.code}: {exc.message}"
        # Listings page through cursors (2 entries a page): a listing either comes
        # back complete or fails clearly, never silently short.
        emulator.faults = Faults()
        everything = {o.name for o in storage.list("")}
        emulator.faults = Faults.only(kind, 0.2, retry_after=0, slow_seconds=0.05)
        for _ in range(5):
            try:
                assert {o.name for o in storage.list("")} == everything
            except AppError as exc:
                assert exc.message
    finally:
        storage.close()
    injected = sum(emulator.faults_injected.values())
    emulator.faults = Faults()
    storage = _storage(emulator)
    with template.open(tmp_path / "unused", tmp_path / "cache2", storage) as vault:
        assert vault.check(read_data=True).ok
        vault.backup([str(source)])
        target = tmp_path / "t"
        assert not vault.restore("latest", str(target)).warnings
        assert_same_tree(source, restored_root(target, source))
    storage.close()
    print(f"dropbox {kind} at 20%: {outcome}, faults injected: {dict(emulator.faults_injected)}")
    assert injected > 0
