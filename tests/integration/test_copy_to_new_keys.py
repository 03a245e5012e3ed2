"""``key passwd`` keeps the master keys (issue 11 item 17): an old key object still
opens the vault with the old passphrase. ``keepsake copy --to NEWREPO`` is the way
out: the whole history under new keys, which no old key object opens."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.helpers import make_tree, random_bytes, restored_root, tree_digest, write

OLD, NEW, NEWEST = "old passphrase", "new passphrase", "newest passphrase"


def run(
    tmp: Path, *args: str, password: str | None = OLD, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPSAKE_")}
    env.update(
        KEEPSAKE_CACHE_DIR=str(tmp / "cache"),
        KEEPSAKE_CONFIG_DIR=str(tmp / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        **extra,
    )
    if password is not None:
        env["KEEPSAKE_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshots(tmp: Path, repo: Path, password: str) -> list[dict[str, Any]]:
    done = run(tmp, "snapshots", "--repo", str(repo), "--json", password=password)
    assert done.returncode == 0, done.stderr
    docs: list[dict[str, Any]] = json.loads(done.stdout)
    return docs


def test_passwd_keeps_master_keys_and_copy_locks_the_old_passphrase_out(tmp_path: Path) -> None:
    src = make_tree(tmp_path / "src")
    write(src / "big.bin", random_bytes(3 << 20, seed=5))
    old_vault = tmp_path / "old"
    assert run(tmp_path, "init", "--repo", str(old_vault)).returncode == 0
    assert run(tmp_path, "backup", "--repo", str(old_vault), str(src)).returncode == 0
    kept = tmp_path / "kept-key-objects"  # e.g. Dropbox's deleted-file history
    shutil.copytree(old_vault / "keys", kept)

    passwd = run(tmp_path, "key", "--repo", str(old_vault), "passwd", KEEPSAKE_NEW_PASSWORD=NEW)
    assert passwd.returncode == 0, passwd.stderr
    assert "master keys are unchanged" in passwd.stdout and "keepsake copy" in passwd.stdout
    write(src / "notes" / "todo.txt", b"after the change\n")
    assert run(tmp_path, "backup", "--repo", str(old_vault), str(src), password=NEW).returncode == 0

    # The limit, as documented: a kept old key object opens the new snapshot too.
    for key in kept.iterdir():
        shutil.copy(key, old_vault / "keys" / key.name)
    assert len(snapshots(tmp_path, old_vault, OLD)) == 2
    for key in kept.iterdir():
        (old_vault / "keys" / key.name).unlink()

    # The way out: a copy under new keys.
    new_vault = tmp_path / "new"
    copied = run(
        tmp_path,
        "copy",
        "--repo",
        str(old_vault),
        "--to",
        str(new_vault),
        password=NEW,
        KEEPSAKE_NEW_PASSWORD=NEWEST,
    )
    assert copied.returncode == 0, copied.stderr
    assert "Recovery key of the NEW vault" in copied.stdout
    before = snapshots(tmp_path, old_vault, NEW)
    after = snapshots(tmp_path, new_vault, NEWEST)
    assert [(s["time"], s["hostname"], s["paths"], s["files"], s["bytes"]) for s in after] == [
        (s["time"], s["hostname"], s["paths"], s["files"], s["bytes"]) for s in before
    ]
    for old_snap, new_snap in zip(before, after, strict=True):
        a, b = tmp_path / f"a-{old_snap['id'][:8]}", tmp_path / f"b-{new_snap['id'][:8]}"
        assert (
            run(
                tmp_path,
                "restore",
                "--repo",
                str(old_vault),
                old_snap["id"],
                "--target",
                str(a),
                password=NEW,
            ).returncode
            == 0
        )
        done = run(
            tmp_path,
            "restore",
            "--repo",
            str(new_vault),
            new_snap["id"],
            "--target",
            str(b),
            password=NEWEST,
        )
        assert done.returncode == 0, done.stderr
        assert tree_digest(restored_root(b, src)) == tree_digest(restored_root(a, src))
    check = run(tmp_path, "check", "--repo", str(new_vault), "--read-data", password=NEWEST)
    assert check.returncode == 0, check.stdout + check.stderr

    # No old key object opens the new vault, with either old passphrase: they
    # unwrap the old master keys, which decrypt nothing here.
    for key in [*kept.iterdir(), *(old_vault / "keys").iterdir()]:
        shutil.copy(key, new_vault / "keys" / f"{key.name[:-4]}beef")
    for password in (OLD, NEW):
        refused = run(tmp_path, "snapshots", "--repo", str(new_vault), password=password)
        assert refused.returncode in (1, 4), refused.stdout
        assert refused.stdout == "" and "Traceback" not in refused.stderr

    # The chunker was kept: the next backup into the new vault finds every chunk.
    again = run(tmp_path, "backup", "--repo", str(new_vault), str(src), "--json", password=NEWEST)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["bytes_added"] < 64 * 1024  # only folder listings


def test_copy_leaves_out_damaged_files_and_names_them(tmp_path: Path) -> None:
    """Nothing damaged is copied; everything else is, and the damage is named."""
    from app.engine.packer import pack_name
    from app.engine.vault import Vault
    from app.storage.local import LocalStorage

    src = tmp_path / "src"
    write(src / "docs" / "a.txt", b"will be damaged\n")
    write(src / "docs" / "b.txt", b"stays intact\n")
    write(src / "c.txt", b"also intact\n")
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    new_dir.mkdir()
    source, _ = Vault.create(LocalStorage(old_dir), OLD, cache_root=tmp_path / "c1")
    with source:
        source.backup([str(src)], hostname="laptop")
        found = source.cache.lookup_blob(source.cipher.blob_id(b"will be damaged\n"))
        assert found is not None
        _, pack, offset, _, _ = found
        pack_file = old_dir / pack_name(pack)
        data = bytearray(pack_file.read_bytes())
        data[offset + 20] ^= 0x01
        pack_file.write_bytes(bytes(data))
        dest, _ = Vault.create(
            LocalStorage(new_dir), NEW, cache_root=tmp_path / "c2", like=source.config
        )
        with dest:
            result = source.copy_to(dest)
            assert result.snapshots == 1
            assert [w.path for w in result.skipped] == [str(src / "docs" / "a.txt")]
            out = tmp_path / "out"
            restored = dest.restore("latest", str(out))
            assert not restored.warnings
    root = restored_root(out, src)
    assert (root / "docs" / "b.txt").read_bytes() == b"stays intact\n"
    assert (root / "c.txt").read_bytes() == b"also intact\n"
    assert not (root / "docs" / "a.txt").exists()
