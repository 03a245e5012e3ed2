"""The CLI contract (README.md "Command line"), exercised through real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import make_tree, restored_root, tree_digest, write


def run(
    *args: str, env: dict[str, str] | None = None, password: str | None = "pw"
) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)
    if password is not None:
        full_env["KEEPSAKE_PASSWORD"] = password
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def repo(tmp_path: Path) -> str:
    path = str(tmp_path / "vault")
    result = run("init", "--repo", path)
    assert result.returncode == 0, result.stderr
    assert "Recovery key" in result.stdout
    return path


def test_full_cli_flow(tmp_path: Path, repo: str) -> None:
    src = make_tree(tmp_path / "src")
    first = run("backup", "--repo", repo, str(src), "--json")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert set(doc) == {
        "snapshot",
        "files_new",
        "files_changed",
        "files_unchanged",
        "bytes_read",
        "bytes_added",
        "bytes_uploaded",
        "duration_s",
    }
    assert doc["files_new"] == 9 and doc["bytes_uploaded"] > 0
    write(src / "notes" / "todo.txt", b"v2\n")
    second = json.loads(run("backup", "--repo", repo, str(src), "--json").stdout)
    assert second["files_changed"] == 1 and second["files_unchanged"] == 8

    snaps = json.loads(run("snapshots", "--repo", repo, "--json").stdout)
    assert [s["id"] for s in snaps] == [doc["snapshot"], second["snapshot"]]
    for s in snaps:
        assert {"id", "time", "hostname", "paths", "files", "bytes"} <= set(s)
        assert s["paths"] == [str(src)] and s["files"] == 9

    listing = json.loads(
        run("ls", "--repo", repo, doc["snapshot"][:8], str(src / "notes"), "--json").stdout
    )
    by_path = {e["path"]: e for e in listing}
    assert by_path[str(src / "notes" / "todo.txt")]["size"] == 450
    assert by_path[str(src / "notes")]["type"] == "dir"
    assert all(set(e) == {"path", "type", "size", "mtime"} for e in listing)

    versions = json.loads(
        run("versions", "--repo", repo, str(src / "notes" / "todo.txt"), "--json").stdout
    )
    assert [v["change"] for v in versions] == ["added", "changed"]
    assert [v["size"] for v in versions] == [450, 3]
    assert all(set(v) == {"snapshot", "time", "size", "mtime", "change"} for v in versions)

    target = tmp_path / "restore"
    restored = run("restore", "--repo", repo, "latest", "--target", str(target))
    assert restored.returncode == 0, restored.stderr
    assert tree_digest(restored_root(target, src)) == tree_digest(src)

    old = tmp_path / "old"
    assert (
        run(
            "restore",
            "--repo",
            repo,
            doc["snapshot"],
            "--target",
            str(old),
            str(src / "notes" / "todo.txt"),
        ).returncode
        == 0
    )
    assert (restored_root(old, src) / "notes" / "todo.txt").read_bytes() == b"buy milk\n" * 50

    assert run("check", "--repo", repo, "--read-data").returncode == 0


def test_exit_codes(tmp_path: Path, repo: str) -> None:
    src = tmp_path / "src"
    write(src / "a.txt", b"a")
    wrong = run("snapshots", "--repo", repo, password="nope")
    assert wrong.returncode == 4 and "Traceback" not in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
    usage = run("restore", "--repo", repo, "latest")  # --target is required
    assert usage.returncode == 2
    skipped = run("backup", "--repo", repo, str(src), str(tmp_path / "gone"))
    assert skipped.returncode == 3
    assert str(tmp_path / "gone") in skipped.stderr
    missing_vault = run("snapshots", "--repo", str(tmp_path / "no-vault"))
    assert missing_vault.returncode == 1 and "no Keepsake vault" in missing_vault.stderr
    assert "Traceback" not in missing_vault.stderr
    no_snapshot = run("ls", "--repo", repo, "deadbeefdeadbeef")
    assert no_snapshot.returncode == 1
    version = run("--version", password=None)
    assert version.returncode == 0 and version.stdout.startswith("keepsake ")


def test_password_file_and_env_repo(tmp_path: Path, repo: str) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text("pw\n")
    result = run(
        "snapshots",
        "--json",
        env={"KEEPSAKE_REPO": repo, "KEEPSAKE_PASSWORD_FILE": str(secret)},
        password=None,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_no_passphrase_without_terminal_is_a_clear_error(repo: str) -> None:
    result = run("snapshots", "--repo", repo, password=None)
    assert result.returncode == 2
    assert "KEEPSAKE_PASSWORD" in result.stderr


def test_recovery_key_from_env(tmp_path: Path) -> None:
    path = str(tmp_path / "v2")
    init = run("init", "--repo", path)
    key = next(line.strip() for line in init.stdout.splitlines() if line.count("-") == 10)
    result = run("snapshots", "--repo", path, env={"KEEPSAKE_RECOVERY_KEY": key}, password=None)
    assert result.returncode == 0, result.stderr


def test_flipped_byte_fails_check_and_restore_names_the_file(tmp_path: Path, repo: str) -> None:
    src = tmp_path / "src"
    write(src / "victim.bin", os.urandom(300_000))
    write(src / "bystander.txt", b"fine")
    assert run("backup", "--repo", repo, str(src)).returncode == 0
    pack = max(
        (p for p in Path(repo, "data").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size
    )
    data = bytearray(pack.read_bytes())
    data[1000] ^= 0x40  # inside the first blob; the file data comes first
    pack.write_bytes(bytes(data))
    check = run("check", "--repo", repo, "--read-data")
    assert check.returncode == 1
    assert str(src / "victim.bin") in check.stdout
    assert pack.name in check.stdout
    target = tmp_path / "out"
    restore = run("restore", "--repo", repo, "latest", "--target", str(target))
    assert restore.returncode == 1
    assert str(src / "victim.bin") in restore.stderr
    assert not (restored_root(target, src) / "victim.bin").exists()
    assert (restored_root(target, src) / "bystander.txt").read_bytes() == b"fine"
