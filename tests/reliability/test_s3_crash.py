"""``keepsake backup --repo s3:...`` killed with SIGKILL, then run again, on the
loopback S3 server.

The kill points are conditions on the bucket seen through S3 itself (the Nth new pack
is listed), polled by the parent. After each kill, with the CLI: ``check --read-data``
finds nothing damaged, the next backup completes and uploads less than a full run
(the packs that made it are adopted), the latest snapshot restores byte for byte, and
``prune`` leaves no unfinished multipart upload behind.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from app.storage.s3.backend import S3Storage
from tests.reliability.harness import (
    VaultTemplate,
    assert_same_tree,
    cli_args,
    cli_env,
    kill_when,
    restored_root,
    run_cli,
    write_tree,
)
from tests.s3_server import BUCKET, RcloneS3
from tests.s3_server.client import S3Factory

pytest_plugins = ["tests.s3_conftest"]


def seed_vault(template: VaultTemplate, storage: S3Storage) -> None:
    """Copy the template vault (small packs, keys already derived) into the bucket."""
    for path in sorted(template.path.rglob("*")):
        if path.is_file():
            storage.put(path.relative_to(template.path).as_posix(), path.read_bytes())


def test_backup_killed_then_run_again(
    template: VaultTemplate,
    s3_server: RcloneS3,
    make_s3_storage: S3Factory,
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    write_tree(source, random.Random(5), files=24, max_size=700_000)
    base_env = s3_server.env()

    def backup(storage: S3Storage) -> tuple[str, ...]:
        return ("backup", "--repo", f"s3:{storage.location}", str(source), "--json")

    # A full, uninterrupted run: the upload to beat, and the pack count to aim at.
    full = make_s3_storage(f"{BUCKET}/crash-full-{tmp_path.name}")
    seed_vault(template, full)
    home = tmp_path / "home-full"
    done = run_cli(*backup(full), env=cli_env(home, **base_env))
    assert done.returncode == 0, done.stderr
    full_upload = int(json.loads(done.stdout)["bytes_uploaded"])
    full_packs = len(list(full.list("data/")))
    assert full_packs >= 10, full_packs

    # One kill, halfway through the packs (tests/reliability/test_crash.py kills the
    # same engine at every pack on a local vault; here the point is S3 itself).
    for round_, kill_at in enumerate((full_packs // 2,)):
        storage = make_s3_storage(f"{BUCKET}/crash-{round_}-{tmp_path.name}")
        seed_vault(template, storage)
        repo = f"s3:{storage.location}"
        home = tmp_path / f"home-{round_}"
        env = cli_env(home, **base_env)

        def enough_packs(s: S3Storage = storage, n: int = kill_at) -> bool:
            return len(list(s.list("data/"))) >= n

        killed, code = kill_when(cli_args(*backup(storage)), env, enough_packs)
        assert killed, f"the backup finished (exit {code}) before {kill_at} packs"
        survived = len(list(storage.list("data/")))
        assert 0 < survived < full_packs

        check = run_cli("check", "--repo", repo, "--read-data", env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        again = run_cli("backup", "--repo", repo, str(source), "--json", env=env)
        assert again.returncode == 0, again.stderr
        assert int(json.loads(again.stdout)["bytes_uploaded"]) < full_upload
        target = tmp_path / f"restore-{round_}"
        restore = run_cli("restore", "--repo", repo, "latest", "--target", str(target), env=env)
        assert restore.returncode == 0, restore.stderr
        assert_same_tree(source, restored_root(target, source))
        prune = run_cli("prune", "--repo", repo, env=env)
        assert prune.returncode == 0, prune.stderr
        assert storage.remove_stale_temp_files() == 0
