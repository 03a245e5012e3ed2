"""Where Keepsake keeps its settings, cache and logs on this platform.

Environment overrides (``KEEPSAKE_CONFIG_DIR``, ``KEEPSAKE_CACHE_DIR``,
``KEEPSAKE_LOG_DIR``) let tests and portable installs relocate everything.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

APP_NAME = "keepsake"


def _dir(env: str, kind: str) -> Path:
    override = os.environ.get(env)
    if override:
        return Path(override)
    import platformdirs

    getter = {
        "config": platformdirs.user_config_dir,
        "cache": platformdirs.user_cache_dir,
        "log": platformdirs.user_log_dir,
        "data": platformdirs.user_data_dir,
    }[kind]
    return Path(getter(APP_NAME, appauthor=False))


def config_dir() -> Path:
    return _dir("KEEPSAKE_CONFIG_DIR", "config")


def cache_dir() -> Path:
    return _dir("KEEPSAKE_CACHE_DIR", "cache")


def log_dir() -> Path:
    return _dir("KEEPSAKE_LOG_DIR", "log")


def data_dir() -> Path:
    return _dir("KEEPSAKE_DATA_DIR", "data")


def runtime_dir() -> Path:
    """A per-user private folder for the single-instance lock and socket.

    ``$XDG_RUNTIME_DIR/keepsake`` when that folder is the user's own and closed to
    others (systemd creates it 0700 per login); otherwise ``run`` in the cache
    folder, which is 0700 too. Never a predictable name in a shared /tmp, where
    another local user could take it first. ``KEEPSAKE_RUNTIME_DIR`` overrides.
    """
    override = os.environ.get("KEEPSAKE_RUNTIME_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.name == "posix":
        try:
            st = os.stat(xdg)
            import stat

            if stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077:
                return Path(xdg) / APP_NAME
        except OSError:
            pass
    return cache_dir() / "run"


# -- private local state ---------------------------------------------------------------
# The cache, settings, job history and log name every backed-up file and folder
# (FORMAT.md "What stays on this computer"), so they are the user's alone: folders
# 0700, files 0600, whatever the umask. ``secure_local_state`` also tightens what
# older versions left at 0755/0644.

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_TIGHTEN_DEPTH = 3  # cache/<vault id>/cache.sqlite and one level more


def private_dir(path: Path) -> Path:
    """Create ``path`` and make it 0700; missing parents are created 0700 too (as
    the XDG spec asks of ~/.cache and friends). Returns ``path``."""
    missing = [p for p in [path, *path.parents] if not p.exists()]
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            p.mkdir(mode=PRIVATE_DIR_MODE)
    if os.name == "posix":
        os.chmod(path, PRIVATE_DIR_MODE)
    return path


def create_private_file(path: Path) -> None:
    """Make sure ``path`` exists as a 0600 file before SQLite or a log opens it by
    name (they would create it 0644). Its folder is created 0700. A link in its
    place is not followed."""
    private_dir(path.parent)
    if os.name != "posix":
        path.touch(exist_ok=True)
        return
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    try:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    finally:
        os.close(fd)


def _tighten(fd_dir: int, depth: int) -> None:
    """fchmod every entry below the open folder ``fd_dir`` without following links."""
    import stat

    os.fchmod(fd_dir, PRIVATE_DIR_MODE)
    for name in os.listdir(fd_dir):
        try:
            st = os.stat(name, dir_fd=fd_dir, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                if stat.S_IMODE(st.st_mode) & 0o077:
                    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd_dir)
                    try:
                        os.fchmod(fd, stat.S_IMODE(st.st_mode) & PRIVATE_DIR_MODE)
                    finally:
                        os.close(fd)
            elif stat.S_ISDIR(st.st_mode) and depth > 0:
                sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd_dir)
                try:
                    _tighten(sub, depth - 1)
                finally:
                    os.close(sub)
        except OSError:
            continue  # vanished or not ours: tighten the rest


def secure_local_state(dirs: list[Path] | None = None) -> None:
    """Make the config, cache, log and data folders that exist 0700 and take group
    and other access off everything already in them (files end up 0600, or 0700 for
    an executable). Runs at every start of the app and the CLI; missing folders are
    left for ``private_dir`` to create when first used. Never raises: a read-only or
    foreign folder must not stop a restore."""
    if os.name != "posix":
        return
    for path in dirs if dirs is not None else [config_dir(), cache_dir(), log_dir(), data_dir()]:
        try:
            if not path.is_dir():
                continue
            os.chmod(path, PRIVATE_DIR_MODE)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            _tighten(fd, _TIGHTEN_DEPTH)
        except OSError:
            pass
        finally:
            os.close(fd)
