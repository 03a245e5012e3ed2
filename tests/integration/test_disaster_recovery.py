"""The laptop is gone: a new machine, an empty cache and settings folder, the vault
and the printed recovery key. And the key management that keeps that possible:
`keepsake key passwd` and `keepsake key recovery-key`.

Everything runs through the real CLI in subprocesses, since exit codes (4 for a wrong
secret) and environment variables are the contract here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from app.engine.crypto import new_recovery_key
from app.engine.vault import Vault
from app.storage.local import LocalStorage
from tests.helpers import make_tree, restored_root, tree_digest

PASSPHRASE = "old laptop passphrase"
RECOVERY_RE = re.compile(r"\b[A-Z2-9]{5}(?:-[A-Z2-9]{5}){10}\b")


def run_cli(
    home: Path,
    *args: str,
    password: str | None = PASSPHRASE,
    recovery: str | None = None,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    """The CLI as a machine whose settings and cache live under ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPSAKE_")}
    env.update(
        KEEPSAKE_CACHE_DIR=str(home / "cache"),
        KEEPSAKE_CONFIG_DIR=str(home / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        **extra,
    )
    if password is not None:
        env["KEEPSAKE_PASSWORD"] = password
    if recovery is not None:
        env["KEEPSAKE_RECOVERY_KEY"] = recovery
    return subprocess.run(
        [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def new_vault(tmp_path: Path) -> tuple[Path, str]:
    vault_dir = tmp_path / "vault"
    vault_dir.mkdir()
    vault, recovery = Vault.create(LocalStorage(vault_dir), PASSPHRASE, cache_root=tmp_path / "c")
    vault.close()
    return vault_dir, recovery


def test_new_machine_restores_everything_with_the_recovery_key(tmp_path: Path) -> None:
    old, new = tmp_path / "old-laptop", tmp_path / "new-laptop"
    vault_dir = tmp_path / "usb-drive" / "vault"
    src = make_tree(tmp_path / "home" / "ann")
    init = run_cli(old, "init", "--repo", str(vault_dir))
    assert init.returncode == 0, init.stderr
    found = RECOVERY_RE.findall(init.stdout)
    assert len(found) == 1, init.stdout
    backup = run_cli(old, "backup", "--repo", str(vault_dir), str(src))
    assert backup.returncode == 0, backup.stderr
    want = tree_digest(src)

    # The new machine has nothing: no settings, no cache, no passphrase; only the
    # recovery key, typed from paper in lower case with spaces.
    typed = found[0].lower().replace("-", " ")
    assert not new.exists()
    listed = run_cli(new, "snapshots", "--repo", str(vault_dir), password=None, recovery=typed)
    assert listed.returncode == 0, listed.stderr
    assert (new / "cache").is_dir()  # rebuilt from the vault

    target = tmp_path / "restored"
    full = run_cli(
        new,
        "restore",
        "--repo",
        str(vault_dir),
        "latest",
        "--target",
        str(target),
        password=None,
        recovery=typed,
    )
    assert full.returncode == 0, full.stderr
    assert tree_digest(restored_root(target, src)) == want

    # Or only a part of it, into another folder.
    part_target = tmp_path / "part"
    wanted = src / "photos"
    part = run_cli(
        new,
        "restore",
        "--repo",
        str(vault_dir),
        "latest",
        "--target",
        str(part_target),
        str(wanted),
        password=None,
        recovery=typed,
    )
    assert part.returncode == 0, part.stderr
    got = tree_digest(restored_root(part_target, src))
    assert got == {k: v for k, v in want.items() if k == "photos" or k.startswith("photos/")}


def test_a_wrong_or_mistyped_recovery_key_exits_4(tmp_path: Path) -> None:
    vault_dir, recovery = new_vault(tmp_path)
    other = run_cli(
        tmp_path, "snapshots", "--repo", str(vault_dir), password=None, recovery=new_recovery_key()
    )
    assert other.returncode == 4
    assert "recovery key does not open" in other.stderr
    typo = recovery[:3] + ("Q" if recovery[3] != "Q" else "R") + recovery[4:]
    mistyped = run_cli(
        tmp_path, "snapshots", "--repo", str(vault_dir), password=None, recovery=typo
    )
    assert mistyped.returncode == 4
    assert "typo" in mistyped.stderr
    assert "Traceback" not in other.stderr + mistyped.stderr


def test_key_passwd_replaces_the_passphrase(tmp_path: Path) -> None:
    vault_dir, recovery = new_vault(tmp_path)
    keys_before = set(os.listdir(vault_dir / "keys"))
    changed = run_cli(
        tmp_path, "key", "--repo", str(vault_dir), "passwd", KEEPSAKE_NEW_PASSWORD="new passphrase"
    )
    assert changed.returncode == 0, changed.stderr
    assert (
        len(os.listdir(vault_dir / "keys")) == 2
        and set(os.listdir(vault_dir / "keys")) != keys_before
    )

    old = run_cli(tmp_path, "snapshots", "--repo", str(vault_dir))
    assert old.returncode == 4 and "Wrong passphrase" in old.stderr
    new = run_cli(tmp_path, "snapshots", "--repo", str(vault_dir), password="new passphrase")
    assert new.returncode == 0, new.stderr
    still = run_cli(
        tmp_path, "snapshots", "--repo", str(vault_dir), password=None, recovery=recovery
    )
    assert still.returncode == 0, still.stderr

    # Without KEEPSAKE_NEW_PASSWORD and no terminal to ask on, it is a usage error.
    missing = run_cli(
        tmp_path, "key", "--repo", str(vault_dir), "passwd", password="new passphrase"
    )
    assert missing.returncode == 2


def test_key_recovery_key_replaces_the_recovery_key(tmp_path: Path) -> None:
    vault_dir, old_key = new_vault(tmp_path)
    replaced = run_cli(tmp_path, "key", "--repo", str(vault_dir), "recovery-key")
    assert replaced.returncode == 0, replaced.stderr
    found = RECOVERY_RE.findall(replaced.stdout)
    assert len(found) == 1 and found[0] != old_key

    old = run_cli(tmp_path, "snapshots", "--repo", str(vault_dir), password=None, recovery=old_key)
    assert old.returncode == 4
    new = run_cli(tmp_path, "snapshots", "--repo", str(vault_dir), password=None, recovery=found[0])
    assert new.returncode == 0, new.stderr
    passphrase = run_cli(tmp_path, "snapshots", "--repo", str(vault_dir))
    assert passphrase.returncode == 0, passphrase.stderr
