"""How to drive each backup tool: Keepsake, restic and Borg behind one small interface.

Every tool instance lives in its own home folder inside the bench work dir (vault,
cache, config, temp), so runs never share state with each other or with the user's
real configuration, and a fresh instance per run means no tool benefits from a warm
cache left by a previous run. Temp files go to the same file system as the vault
(``TMPDIR``), otherwise restic would stage packs on the disk during a tmpfs run.
"""

from __future__ import annotations

import abc
import atexit
import compileall
import hashlib
import itertools
import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from tests.bench.measure import last_line, run_quiet
from tests.s3_server.server import BUCKET, RcloneS3

PASSWORD = "correct horse battery staple bench"

# Variables that could point a tool at the user's real repos, keys or caches.
_SCRUB_PREFIXES = ("RESTIC_", "BORG_", "KEEPSAKE_")


@dataclass(frozen=True)
class Command:
    """A command line plus the directory it must run in (Borg extracts into the cwd)."""

    argv: list[str]
    cwd: Path | None = None


class Tool(abc.ABC):
    """One backup tool bound to one isolated home folder."""

    key: ClassVar[str]
    label: ClassVar[str]

    def __init__(self, home: Path) -> None:
        self.home = home
        self.vault = home / "vault"
        for sub in ("tmp", "xdg/cache", "xdg/config", "xdg/data"):
            (home / sub).mkdir(parents=True, exist_ok=True)

    @classmethod
    def base_env(cls) -> dict[str, str]:
        """Environment without per-home settings: version and start-up commands."""
        return {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB_PREFIXES)}

    def env(self) -> dict[str, str]:
        """The process environment for every command of this tool."""
        env = self.base_env()
        env.update(
            TMPDIR=str(self.home / "tmp"),
            XDG_CACHE_HOME=str(self.home / "xdg/cache"),
            XDG_CONFIG_HOME=str(self.home / "xdg/config"),
            XDG_DATA_HOME=str(self.home / "xdg/data"),
            LANG="C.UTF-8",
            LC_ALL="C.UTF-8",
        )
        env.update(self.extra_env())
        return env

    def extra_env(self) -> dict[str, str]:
        return {}

    def state_dirs(self) -> list[Path]:
        """Everything the tool reads besides the source: warmed before each step."""
        return [self.home]

    @classmethod
    @abc.abstractmethod
    def version_argv(cls) -> list[str]:
        """A cheap command that prints the version: also used for start-up time."""

    @classmethod
    def version(cls) -> str:
        proc = run_quiet(cls.version_argv(), env=cls.base_env())
        text = (proc.stdout or proc.stderr).strip().splitlines()
        return text[0].strip() if proc.returncode == 0 and text else "unavailable"

    @abc.abstractmethod
    def init(self) -> Command: ...

    @abc.abstractmethod
    def backup(self, paths: list[Path], number: int) -> Command:
        """The ``number``-th backup (1-based) of ``paths`` into this tool's vault."""

    @abc.abstractmethod
    def snapshot_ref(self, number: int) -> str:
        """How to name the ``number``-th snapshot in a restore command (unmeasured)."""

    @abc.abstractmethod
    def restore(self, snapshot: str, target: Path, paths: list[Path]) -> Command:
        """Restore ``paths`` (absolute original paths; all if empty) under ``target``.

        Every tool recreates the original absolute path below ``target``, so the
        harness can verify restores the same way for all of them.
        """


def _json_snapshots(proc_stdout: str, number: int) -> str:
    items = json.loads(proc_stdout)
    if not isinstance(items, list) or len(items) < number:
        raise RuntimeError(f"expected at least {number} snapshots, got {proc_stdout[:200]!r}")
    return str(items[number - 1]["id"])


class Keepsake(Tool):
    """Our CLI, exactly as README.md "Command line" fixes it."""

    key = "keepsake"
    label = "Keepsake"
    # A frozen copy of the app package to import instead of the working tree (see
    # freeze_source): the engine is edited while benchmarks run, and one run must
    # measure one version of it.
    source_dir: ClassVar[Path | None] = None

    @classmethod
    def freeze_source(cls, dest: Path) -> str:
        """Copy ``app/`` (with its bytecode) to ``dest`` and run Keepsake from there.

        Returns a short digest of the copied sources, recorded in the report so a
        figure can be tied to the exact code. ``.venv/bin/keepsake`` still starts the
        process; ``PYTHONPATH`` puts the copy ahead of the editable install.
        """
        src = Path(__file__).resolve().parents[2] / "app"
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest / "app", symlinks=True)
        # Installed apps run from bytecode; without it every step would pay to compile
        # the engine (PYTHONDONTWRITEBYTECODE=1, common on CI, stops Python caching it).
        compileall.compile_dir(dest / "app", quiet=1)
        cls.source_dir = dest
        digest = hashlib.sha256()
        for p in sorted((dest / "app").rglob("*.py")):
            digest.update(p.relative_to(dest).as_posix().encode() + b"\0" + p.read_bytes())
        return digest.hexdigest()[:12]

    @classmethod
    def base_env(cls) -> dict[str, str]:
        env = super().base_env()
        if cls.source_dir is not None:
            env["PYTHONPATH"] = str(cls.source_dir)
        return env

    @staticmethod
    def binary() -> str:
        # `make bench` runs the venv's python, so its keepsake script sits beside it.
        beside = Path(sys.executable).parent / "keepsake"
        if beside.exists():
            return str(beside)
        repo_venv = Path(__file__).resolve().parents[2] / ".venv/bin/keepsake"
        return str(repo_venv) if repo_venv.exists() else "keepsake"

    def extra_env(self) -> dict[str, str]:
        return {
            "KEEPSAKE_PASSWORD": PASSWORD,
            "KEEPSAKE_CACHE_DIR": str(self.home / "cache"),
            "KEEPSAKE_CONFIG_DIR": str(self.home / "config"),
        }

    @classmethod
    def version_argv(cls) -> list[str]:
        return [cls.binary(), "--version"]

    def init(self) -> Command:
        return Command([self.binary(), "init", "--repo", str(self.vault)])

    def backup(self, paths: list[Path], number: int) -> Command:
        return Command(
            [self.binary(), "backup", "--repo", str(self.vault), *map(str, paths), "--json"]
        )

    def snapshot_ref(self, number: int) -> str:
        argv = [self.binary(), "snapshots", "--repo", str(self.vault), "--json"]
        proc = run_quiet(argv, env=self.env(), cwd=self.home)
        if proc.returncode != 0:
            raise RuntimeError(f"keepsake snapshots failed: {last_line(proc.stderr)}")
        return _json_snapshots(proc.stdout, number)

    def restore(self, snapshot: str, target: Path, paths: list[Path]) -> Command:
        # Options first: the README's order (SNAPSHOT --target DIR PATH...) is equally
        # valid, but argparse's parse_args rejects PATHs after an option between
        # positionals; options-first keeps the bench measuring either way.
        argv = [self.binary(), "restore", "--repo", str(self.vault), "--target", str(target)]
        return Command([*argv, snapshot, *map(str, paths)])


class Restic(Tool):
    """restic with its defaults (repository v2, compression auto), own cache dir."""

    key = "restic"
    label = "restic"

    def extra_env(self) -> dict[str, str]:
        return {"RESTIC_PASSWORD": PASSWORD}

    def _base(self) -> list[str]:
        return ["restic", "-r", str(self.vault), "--cache-dir", str(self.home / "cache")]

    @classmethod
    def version_argv(cls) -> list[str]:
        return ["restic", "version"]

    def init(self) -> Command:
        return Command([*self._base(), "init"])

    def backup(self, paths: list[Path], number: int) -> Command:
        return Command([*self._base(), "backup", "-q", *map(str, paths)])

    def snapshot_ref(self, number: int) -> str:
        proc = run_quiet([*self._base(), "snapshots", "--json"], env=self.env(), cwd=self.home)
        if proc.returncode != 0:
            raise RuntimeError(f"restic snapshots failed: {last_line(proc.stderr)}")
        return _json_snapshots(proc.stdout, number)

    def restore(self, snapshot: str, target: Path, paths: list[Path]) -> Command:
        includes = [a for p in paths for a in ("--include", str(p))]
        return Command([*self._base(), "restore", snapshot, "--target", str(target), *includes])


class Borg(Tool):
    """Borg 1.2 with repokey encryption and zstd level 3, as in the issue's reference."""

    key = "borg"
    label = "Borg"

    def extra_env(self) -> dict[str, str]:
        return {
            "BORG_PASSPHRASE": PASSWORD,
            "BORG_BASE_DIR": str(self.home / "base"),
            "BORG_CACHE_DIR": str(self.home / "cache"),
            "BORG_CONFIG_DIR": str(self.home / "config"),
            "BORG_KEYS_DIR": str(self.home / "keys"),
            "BORG_SECURITY_DIR": str(self.home / "security"),
            "BORG_DISPLAY_PASSPHRASE": "no",
            "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes",
            "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "yes",
        }

    @classmethod
    def version_argv(cls) -> list[str]:
        return ["borg", "--version"]

    def init(self) -> Command:
        return Command(["borg", "init", "--encryption=repokey", str(self.vault)])

    def backup(self, paths: list[Path], number: int) -> Command:
        archive = f"{self.vault}::{self.snapshot_ref(number)}"
        return Command(["borg", "create", "--compression", "zstd,3", archive, *map(str, paths)])

    def snapshot_ref(self, number: int) -> str:
        return f"bench-{number}"

    def restore(self, snapshot: str, target: Path, paths: list[Path]) -> Command:
        # Borg stores paths without the leading slash and extracts into the cwd.
        rel = [str(p).lstrip("/") for p in paths]
        return Command(["borg", "extract", f"{self.vault}::{snapshot}", *rel], cwd=target)


class KeepsakeS3(Keepsake):
    """Keepsake with its vault on S3: ``rclone serve s3`` on loopback, whose folder
    sits in the same work dir (tmpfs or disk) as the local vaults, so the difference
    to the local backend is the S3 path itself (HTTP, signing, MD5, boto3)."""

    key = "keepsake-s3"
    label = "Keepsake S3"
    server: ClassVar[RcloneS3 | None] = None
    _serial: ClassVar[Iterator[int]] = itertools.count(1)

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        server = self.start_server(home.parent.parent / "s3-server")
        # Each instance gets its own prefix; ``vault`` is where the server keeps it, so
        # the harness measures its size like any other vault.
        self.prefix = f"{home.parent.name}-{home.name}-{next(self._serial)}"
        self.vault = server.root / BUCKET / self.prefix
        self.repo = f"s3:{BUCKET}/{self.prefix}"

    @classmethod
    def start_server(cls, root: Path) -> RcloneS3:
        if cls.server is None:
            cls.server = RcloneS3(root)
            cls.server.start()
            atexit.register(cls.server.stop)
        return cls.server

    def extra_env(self) -> dict[str, str]:
        assert self.server is not None
        return {**super().extra_env(), **self.server.env()}

    def init(self) -> Command:
        return Command([self.binary(), "init", "--repo", self.repo])

    def backup(self, paths: list[Path], number: int) -> Command:
        return Command([self.binary(), "backup", "--repo", self.repo, *map(str, paths), "--json"])

    def snapshot_ref(self, number: int) -> str:
        argv = [self.binary(), "snapshots", "--repo", self.repo, "--json"]
        proc = run_quiet(argv, env=self.env(), cwd=self.home)
        if proc.returncode != 0:
            raise RuntimeError(f"keepsake snapshots failed: {last_line(proc.stderr)}")
        return _json_snapshots(proc.stdout, number)

    def restore(self, snapshot: str, target: Path, paths: list[Path]) -> Command:
        argv = [self.binary(), "restore", "--repo", self.repo, "--target", str(target)]
        return Command([*argv, snapshot, *map(str, paths)])


TOOLS: dict[str, type[Tool]] = {t.key: t for t in (Keepsake, KeepsakeS3, Restic, Borg)}


def probe(cls: type[Tool], scratch: Path) -> str | None:
    """Check a tool can create a vault at all; returns why not, or None if it can.

    This is how the harness notices that the Keepsake engine has not landed yet
    (the placeholder CLI cannot ``init``) and runs the peers alone instead of failing.
    """
    if cls.version() == "unavailable":
        return f"{cls.label}: `{' '.join(cls.version_argv())}` failed"
    shutil.rmtree(scratch, ignore_errors=True)
    tool = cls(scratch)
    cmd = tool.init()
    proc = run_quiet(cmd.argv, env=tool.env(), cwd=cmd.cwd or tool.home)
    ok = proc.returncode == 0 and tool.vault.exists() and any(tool.vault.iterdir())
    shutil.rmtree(scratch, ignore_errors=True)
    if not ok:
        why = last_line(proc.stderr or proc.stdout)
        return f"{cls.label}: init failed (exit {proc.returncode}): {why}"
    return None
