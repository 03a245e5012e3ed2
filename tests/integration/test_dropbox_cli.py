"""The whole CLI with ``--repo dropbox:NAME`` against the emulator, over HTTPS through
the official SDK, configured only by environment variables (as a user script would)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.dropbox_emulator import DropboxEmulator, Faults
from tests.helpers import make_tree, restored_root, tree_digest, write

pytest_plugins = ["tests.dropbox_conftest"]

REPO = "dropbox:Family Photos"


def run(emulator: DropboxEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(emulator.env())
    env["KEEPSAKE_PASSWORD"] = "correct horse"
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        stdin=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )


def roundtrip(emulator: DropboxEmulator, tmp_path: Path, *, full: bool = True) -> None:
    src = make_tree(tmp_path / "src", big=3 << 20)
    init = run(emulator, "init", "--repo", REPO)
    assert init.returncode == 0, init.stderr
    assert "Dropbox: Family Photos" in init.stdout
    first = run(emulator, "backup", "--repo", REPO, str(src), "--json")
    assert first.returncode == 0, first.stderr
    if not full:
        target = tmp_path / "restore"
        restore = run(emulator, "restore", "--repo", REPO, "latest", "--target", str(target))
        assert restore.returncode == 0, restore.stderr
        assert tree_digest(restored_root(target, src)) == tree_digest(src)
        check = run(emulator, "check", "--repo", REPO, "--read-data")
        assert check.returncode == 0, check.stdout + check.stderr
        return
    write(src / "notes" / "todo.txt", b"changed\n")
    second = run(emulator, "backup", "--repo", REPO, str(src), "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["files_changed"] == 1

    snaps = run(emulator, "snapshots", "--repo", REPO, "--json")
    assert snaps.returncode == 0, snaps.stderr
    assert len(json.loads(snaps.stdout)) == 2

    target = tmp_path / "restore"
    restore = run(emulator, "restore", "--repo", REPO, "latest", "--target", str(target))
    assert restore.returncode == 0, restore.stderr
    assert tree_digest(restored_root(target, src)) == tree_digest(src)

    check = run(emulator, "check", "--repo", REPO, "--read-data")
    assert check.returncode == 0, check.stdout + check.stderr

    forget = run(emulator, "forget", "--repo", REPO, "--keep-last", "1", "--prune")
    assert forget.returncode == 0, forget.stderr
    check = run(emulator, "check", "--repo", REPO, "--read-data")
    assert check.returncode == 0, check.stdout + check.stderr

    # Everything lives in the app folder under the vault's name, nothing in clear.
    names = [k for k in emulator.store.entries if k.startswith("/family photos/")]
    assert any(k.startswith("/family photos/data/") for k in names)
    assert not any("todo" in k or "photos/2024" in k for k in names)


def test_cli_roundtrip_through_the_emulator(
    dropbox_emulator: DropboxEmulator, tmp_path: Path
) -> None:
    roundtrip(dropbox_emulator, tmp_path)


def test_cli_roundtrip_with_faults(tmp_path: Path) -> None:
    """Real processes with real (short) backoff sleeps; the server asks for 0 s.
    Each fault kind at 10% with three seeds runs in-process (test_dropbox_faults)."""
    faults = Faults(error_503=0.04, drop=0.04, rate_limit_json=0.04, truncate=0.04, retry_after=0)
    with DropboxEmulator(tmp_path / "emu", faults=faults, seed=7) as emulator:
        roundtrip(emulator, tmp_path, full=False)
        assert sum(emulator.stats()["faults_injected"].values()) > 0


def test_cli_without_a_connection_says_how_to_connect(
    dropbox_emulator: DropboxEmulator, tmp_path: Path
) -> None:
    env = dict(os.environ)
    env.update(dropbox_emulator.env())
    del env["KEEPSAKE_DROPBOX_ACCESS_TOKEN"]
    env["KEEPSAKE_PASSWORD"] = "pw"
    result = subprocess.run(
        [sys.executable, "-m", "app", "snapshots", "--repo", REPO],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 1
    assert "connect dropbox" in result.stderr
    assert "Traceback" not in result.stderr
