"""Shared tools for the reliability suite: vaults with small packs, source trees,
byte-exact comparison, and running the real ``keepsake`` CLI in a subprocess.

Nothing here replaces engine code: vaults are made by ``Vault.create`` and only
their config is rewritten (with the vault's own cipher) to use small chunks and packs,
so a few megabytes produce dozens of storage objects to kill, corrupt or fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.engine import codec
from app.engine.crypto import T_CONFIG
from app.engine.repository import Repository
from app.engine.vault import Vault
from app.storage.base import Storage
from app.storage.local import LocalStorage

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv").is_dir() else sys.executable
PASSWORD = "correct horse battery staple 42"

# Small chunks and packs: a 1 MiB file becomes ~16 chunks and ~4 packs.
SMALL_CHUNKER = {"min_size": 16 * 1024, "avg_size": 64 * 1024, "max_size": 256 * 1024}
SMALL_PACK = 256 * 1024


def scale() -> int:
    """The size multiplier for bigger runs (``--reliability-scale`` or the env var)."""
    try:
        return max(1, int(os.environ.get("KEEPSAKE_RELIABILITY_SCALE", "1")))
    except ValueError:
        return 1


@dataclass
class VaultTemplate:
    """A vault made once per test session (key derivation is slow on purpose);
    tests copy its folder and reuse its keys instead of deriving them again."""

    path: Path
    vault: Vault
    recovery: str

    def copy_to(self, dest: Path) -> Path:
        shutil.copytree(self.path, dest)
        return dest

    def open(self, path: Path, cache_root: Path, storage: Storage | None = None) -> Vault:
        """A fresh Vault on ``path`` as a new process would have it (config re-read
        from storage, empty in-memory state), without running the KDF again."""
        store = storage if storage is not None else LocalStorage(path)
        raw = self.vault.cipher.open_object(T_CONFIG, "config", store.get("config"))
        config = json.loads(codec.decode_payload(raw))
        return Vault(Repository(store, self.vault.repo.keys, config, cache_root))


def rewrite_config(template: VaultTemplate, vault_dir: Path, **changes: Any) -> None:
    """Change a copied vault's config (e.g. back to full-size chunks), sealed with
    the vault's own keys exactly as ``Vault.create`` seals it."""
    storage = LocalStorage(vault_dir)
    raw = template.vault.cipher.open_object(T_CONFIG, "config", storage.get("config"))
    config = {**json.loads(codec.decode_payload(raw)), **changes}
    sealed = template.vault.cipher.seal_object(
        T_CONFIG, "config", codec.encode_payload(json.dumps(config).encode())
    )
    storage.put("config", sealed)


def make_template(path: Path, cache_root: Path) -> VaultTemplate:
    storage = LocalStorage(path)
    path.mkdir(parents=True, exist_ok=True)
    vault, recovery = Vault.create(storage, PASSWORD, cache_root=cache_root)
    config = dict(vault.config)
    config["chunker"] = {**config["chunker"], **SMALL_CHUNKER}
    config["pack_size"] = SMALL_PACK
    sealed = vault.cipher.seal_object(
        T_CONFIG, "config", codec.encode_payload(json.dumps(config).encode())
    )
    storage.put("config", sealed)
    vault.close()
    template = VaultTemplate(path, vault, recovery)
    template.vault = template.open(path, cache_root)
    return template


# --- source trees ----------------------------------------------------------------------


def random_bytes(rng: random.Random, size: int) -> bytes:
    return rng.randbytes(size)


def write_tree(root: Path, rng: random.Random, files: int, max_size: int) -> dict[str, int]:
    """Files of random (incompressible) and text-like (compressible) content in a few
    folders; returns name -> size."""
    sizes: dict[str, int] = {}
    for i in range(files):
        folder = root / f"d{i % 4}" / f"s{i % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        size = rng.randint(0, max_size)
        if i % 3 == 0:
            data = (f"line {i} of a text file\n" * (size // 20 + 1)).encode()[:size]
        else:
            data = random_bytes(rng, size)
        (folder / f"f{i}.bin").write_bytes(data)
        sizes[str(folder / f"f{i}.bin")] = size
    return sizes


def digest_tree(root: Path) -> dict[str, tuple[str, str]]:
    """Relative path -> (kind, sha256 or link target) for everything under ``root``."""
    out: dict[str, tuple[str, str]] = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.fsdecode(os.path.relpath(full, base))
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.fsdecode(os.readlink(full)))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", "")
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", sha256_file(full))
    return out


def sha256_file(path: bytes | str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def restored_root(target: Path, source: Path) -> Path:
    """Where ``restore`` puts ``source`` under ``target`` (the absolute path recreated)."""
    return target / str(source).lstrip("/")


def assert_same_tree(source: Path, restored: Path) -> None:
    want = digest_tree(source)
    got = digest_tree(restored)
    assert got == want, _diff(want, got)


def _diff(want: dict[str, Any], got: dict[str, Any]) -> str:
    missing = sorted(set(want) - set(got))[:5]
    extra = sorted(set(got) - set(want))[:5]
    changed = sorted(k for k in set(want) & set(got) if want[k] != got[k])[:5]
    return f"missing={missing} extra={extra} changed={changed}"


def vault_objects(path: Path) -> Iterator[Path]:
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            yield Path(dirpath) / name


# --- the CLI in a subprocess -------------------------------------------------------------


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPSAKE_")}
    env.update(
        KEEPSAKE_PASSWORD=PASSWORD,
        KEEPSAKE_CACHE_DIR=str(home / "cache"),
        KEEPSAKE_CONFIG_DIR=str(home / "config"),
        KEEPSAKE_LOG_DIR=str(home / "log"),
        KEEPSAKE_DATA_DIR=str(home / "data"),
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        XDG_DATA_HOME=str(home / "xdg-data"),
        XDG_CACHE_HOME=str(home / "xdg-cache"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra)
    return env


KEEPSAKE = REPO / ".venv" / "bin" / "keepsake"


def cli_args(*args: str) -> list[str]:
    """The installed ``keepsake`` entry point (or the same ``main`` without a venv)."""
    if KEEPSAKE.exists():
        return [str(KEEPSAKE), *args]
    return [PYTHON, "-c", "import sys; from app.cli import main; sys.exit(main())", *args]


def run_cli(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_args(*args),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def kill_when(
    args: list[str],
    env: dict[str, str],
    condition: Callable[[], bool],
    *,
    timeout: float = 60,
) -> tuple[bool, int | None]:
    """Start ``args``; SIGKILL it as soon as ``condition()`` holds (polled).

    Returns (killed, exit code if it finished first). The condition watches the
    vault folder, so no hook inside the engine is needed.
    """
    proc = subprocess.Popen(
        args, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if condition():
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True, None
            code = proc.poll()
            if code is not None:
                return False, code
            time.sleep(0.0005)
        raise AssertionError(f"{args} neither finished nor reached the kill point")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
