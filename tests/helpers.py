"""Test helpers: deterministic trees and whole-tree comparison."""

from __future__ import annotations

import hashlib
import os
import random
import subprocess
import sys
from pathlib import Path


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def make_tree(root: Path, *, seed: int = 1, big: int = 0) -> Path:
    """Nested folders, unicode (NFC and NFD), emoji, empty files and folders, a
    symlink, text and binary files; ``big`` adds one file of that many bytes."""
    r = random.Random(seed)
    write(root / "notes" / "todo.txt", b"buy milk\n" * 50)
    write(root / "notes" / "deep" / "er" / "still" / "file.md", b"# title\n" + b"words " * 3000)
    write(root / "photos" / "2024" / "img_0001.jpg", b"\xff\xd8\xff\xe0" + r.randbytes(700_000))
    write(root / "photos" / "2024" / "img_0002.jpg", b"\xff\xd8\xff\xe0" + r.randbytes(300_000))
    write(root / "caf\u00e9.txt", b"NFC name\n")
    write(root / "cafe\u0301.txt", b"NFD name\n")
    write(root / "\U0001f600 smile" / "\u65e5\u672c\u8a9e.txt", b"unicode folder\n")
    write(root / "empty.bin", b"")
    (root / "empty-folder").mkdir(parents=True, exist_ok=True)
    write(root / "spaces and 'quotes'.txt", b"odd name\n")
    os.symlink("notes/todo.txt", root / "link-to-todo")
    os.symlink("/nonexistent/target", root / "dangling-link")
    if big:
        with open(root / "big.bin", "wb") as fh:
            block = r.randbytes(1 << 20)
            for i in range(big >> 20):
                fh.write(block[i % 7 :] + block[: i % 7])
    return root


def tree_digest(root: Path) -> dict[str, tuple[str, str, int]]:
    """Relative path -> (kind, content hash or link target, mtime_ns for files)."""
    out: dict[str, tuple[str, str, int]] = {}
    rootb = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(rootb):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.fsdecode(os.path.relpath(full, rootb))
            st = os.lstat(full)
            if os.path.islink(full):
                out[rel] = ("link", os.fsdecode(os.readlink(full)), 0)
            elif os.path.isdir(full):
                out[rel] = ("dir", "", 0)
            else:
                with open(full, "rb") as fh:
                    out[rel] = ("file", hashlib.sha256(fh.read()).hexdigest(), st.st_mtime_ns)
    return out


def restored_root(target: Path, original: Path) -> Path:
    """Where ``restore --target`` puts ``original`` (its absolute path under target)."""
    return target / os.path.abspath(original).lstrip("/")


def cli_env(home: Path, password: str) -> dict[str, str]:
    """The environment of one "computer" for a CLI subprocess: its own cache and
    settings (hence its own device id), no keyring, the vault's passphrase."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPSAKE_")}
    env.update(
        KEEPSAKE_PASSWORD=password,
        KEEPSAKE_CACHE_DIR=str(home / "cache"),
        KEEPSAKE_CONFIG_DIR=str(home / "config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


def cli_args(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())", *args]


def run_cli(home: Path, password: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli_args(*args),
        env=cli_env(home, password),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
