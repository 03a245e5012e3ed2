"""Issue 11, item 4: a damaged snapshot is never skipped without a word.

The chosen behaviour (docs/FORMAT.md section 10): a damaged snapshot object has no
readable time, so nobody can tell whether it was the newest. ``latest`` therefore
refuses (exit 1) while any snapshot object is damaged, naming it and the newest
readable snapshot to ask for instead. Every command that lists or picks snapshots
(snapshots, ls, versions, restore, forget) says on stderr which snapshots are
damaged, and the engine exposes them for the desktop app.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.reliability.harness import VaultTemplate, cli_env, run_cli, write_tree


def _three_backups(template: VaultTemplate, tmp_path: Path) -> tuple[Path, Path, list[str]]:
    src = tmp_path / "src"
    rng = random.Random(51)
    write_tree(src, rng, files=4, max_size=20_000)
    vault_dir = template.copy_to(tmp_path / "vault")
    ids = []
    with template.open(vault_dir, tmp_path / "c") as vault:
        for i in range(3):
            (src / "changing.txt").write_text(f"version {i}\n")
            ids.append(vault.backup([str(src)]).snapshot_id)
    return vault_dir, src, ids


def _damage(vault_dir: Path, snap_id: str) -> None:
    path = vault_dir / "snapshots" / snap_id
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))


def test_damaged_newest_snapshot_is_named_and_latest_refuses(
    template: VaultTemplate, tmp_path: Path
) -> None:
    vault_dir, src, ids = _three_backups(template, tmp_path)
    _damage(vault_dir, ids[-1])
    env = cli_env(tmp_path / "home")
    repo = ("--repo", str(vault_dir))

    listed = run_cli("snapshots", *repo, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    assert [s["id"] for s in json.loads(listed.stdout)] == ids[:2]
    assert ids[-1][:8] in listed.stderr and "damaged" in listed.stderr

    restore = run_cli("restore", *repo, "latest", "--target", str(tmp_path / "t"), env=env)
    assert restore.returncode == 1
    assert ids[-1][:8] in restore.stderr and ids[1][:8] in restore.stderr
    assert not (tmp_path / "t").exists() or not any((tmp_path / "t").iterdir())

    # Asking for a readable snapshot by id works, and still mentions the damage.
    by_id = run_cli("restore", *repo, ids[1][:12], "--target", str(tmp_path / "t"), env=env)
    assert by_id.returncode == 0, by_id.stderr
    assert ids[-1][:8] in by_id.stderr
    assert (tmp_path / "t" / str(src).lstrip("/") / "changing.txt").read_text() == "version 1\n"

    for args in (
        ("ls", *repo, ids[0][:12]),
        ("versions", *repo, str(src / "changing.txt")),
        ("forget", *repo, "--keep-last", "5"),
    ):
        done = run_cli(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
        assert ids[-1][:8] in done.stderr and "damaged" in done.stderr, args
    ls_latest = run_cli("ls", *repo, "latest", env=env)
    assert ls_latest.returncode == 1 and ids[-1][:8] in ls_latest.stderr


def test_swapped_snapshots_do_not_vanish(template: VaultTemplate, tmp_path: Path) -> None:
    vault_dir, _src, ids = _three_backups(template, tmp_path)
    a, b = vault_dir / "snapshots" / ids[0], vault_dir / "snapshots" / ids[2]
    data_a, data_b = a.read_bytes(), b.read_bytes()
    a.write_bytes(data_b)
    b.write_bytes(data_a)
    with template.open(vault_dir, tmp_path / "fresh") as vault:
        assert [s.id for s in vault.snapshots()] == [ids[1]]
        damaged = vault.damaged_snapshots()
        assert sorted(d.id for d in damaged) == sorted([ids[0], ids[2]])
        assert all(d.reason for d in damaged)
    done = run_cli("snapshots", "--repo", str(vault_dir), env=cli_env(tmp_path / "home"))
    assert done.returncode == 0
    assert ids[0][:8] in done.stderr and ids[2][:8] in done.stderr
