"""The whole CLI with ``--repo s3:BUCKET/PREFIX`` against a real S3 server on loopback
(``rclone serve s3``), configured only by environment variables, as a script would be:
a clean round trip, and one through a proxy that drops, throttles and cuts replies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import make_tree, restored_root, tree_digest, write
from tests.s3_server import FaultProxy, RcloneS3, S3Faults

pytest_plugins = ["tests.s3_conftest"]

REPO_ROOT = Path(__file__).resolve().parents[2]


def run(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ)
    full.update(env)
    full["KEEPSAKE_PASSWORD"] = "correct horse"
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        env=full,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        cwd=REPO_ROOT,
    )


def test_cli_roundtrip_on_s3(s3_server: RcloneS3, s3_spec: str, tmp_path: Path) -> None:
    env = s3_server.env()
    repo = f"s3:{s3_spec}"
    src = make_tree(tmp_path / "src", big=3 << 20)
    init = run(env, "init", "--repo", repo)
    assert init.returncode == 0, init.stderr
    assert f"S3: {s3_spec}" in init.stdout
    again = run(env, "init", "--repo", repo)
    assert again.returncode != 0 and "Traceback" not in again.stderr

    first = run(env, "backup", "--repo", repo, str(src), "--json")
    assert first.returncode == 0, first.stderr
    write(src / "notes" / "todo.txt", b"changed\n")
    second = run(env, "backup", "--repo", repo, str(src), "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["files_changed"] == 1

    snaps = run(env, "snapshots", "--repo", repo, "--json")
    assert snaps.returncode == 0, snaps.stderr
    assert len(json.loads(snaps.stdout)) == 2

    target = tmp_path / "restore"
    restore = run(env, "restore", "--repo", repo, "latest", "--target", str(target))
    assert restore.returncode == 0, restore.stderr
    assert tree_digest(restored_root(target, src)) == tree_digest(src)

    check = run(env, "check", "--repo", repo, "--read-data")
    assert check.returncode == 0, check.stdout + check.stderr
    forget = run(env, "forget", "--repo", repo, "--keep-last", "1", "--prune")
    assert forget.returncode == 0, forget.stderr
    check = run(env, "check", "--repo", repo, "--read-data")
    assert check.returncode == 0, check.stdout + check.stderr

    # Everything lives under the prefix, nothing in clear.
    stored = [p for p in (s3_server.root / s3_spec).rglob("*") if p.is_file()]
    names = {p.relative_to(s3_server.root / s3_spec).parts[0] for p in stored}
    assert {"config", "data", "index", "snapshots"} <= names
    assert not any("todo" in str(p) or "photos" in str(p) for p in stored)


def test_cli_errors_are_clear(s3_server: RcloneS3, s3_spec: str) -> None:
    env = s3_server.env()
    wrong = run({**env, "AWS_SECRET_ACCESS_KEY": "wrong"}, "snapshots", "--repo", f"s3:{s3_spec}")
    assert wrong.returncode != 0
    assert "secret key" in wrong.stderr and "Traceback" not in wrong.stderr
    missing = run(env, "init", "--repo", "s3:no-such-bucket/vault")
    assert missing.returncode != 0
    assert "bucket no-such-bucket does not exist" in missing.stderr
    empty = run(env, "snapshots", "--repo", f"s3:{s3_spec}")
    assert empty.returncode != 0 and "Traceback" not in empty.stderr
    bad = run(env, "snapshots", "--repo", "s3:Bad_Bucket/x")
    assert bad.returncode != 0 and "not a valid bucket name" in bad.stderr


def test_cli_roundtrip_through_faults(s3_server: RcloneS3, s3_spec: str, tmp_path: Path) -> None:
    """Real processes with real (short) backoff sleeps through a misbehaving proxy;
    each fault kind at 10% runs in-process in test_s3_faults."""
    faults = S3Faults(drop=0.03, drop_reply=0.03, slow_down=0.03, error_500=0.03, truncate=0.03)
    with FaultProxy(s3_server.endpoint, faults=faults, seed=11) as proxy:
        env = {**s3_server.env(), "KEEPSAKE_S3_ENDPOINT": proxy.endpoint}
        repo = f"s3:{s3_spec}"
        src = make_tree(tmp_path / "src", big=3 << 20)
        init = run(env, "init", "--repo", repo)
        assert init.returncode == 0, init.stderr
        backup = run(env, "backup", "--repo", repo, str(src))
        assert backup.returncode == 0, backup.stderr
        target = tmp_path / "restore"
        restore = run(env, "restore", "--repo", repo, "latest", "--target", str(target))
        assert restore.returncode == 0, restore.stderr
        assert tree_digest(restored_root(target, src)) == tree_digest(src)
        check = run(env, "check", "--repo", repo, "--read-data")
        assert check.returncode == 0, check.stdout + check.stderr
        assert sum(proxy.injected.values()) > 0, "the run should have met some faults"
