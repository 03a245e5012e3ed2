"""Process-wide protections applied once at start-up, by the CLI and the desktop app.

A core dump is a copy of the process memory written to disk (or handed to a crash
collector such as systemd-coredump or apport): it would hold the master keys, the
derived key and the passphrase in plain text. So Keepsake turns core dumps off for
itself: ``RLIMIT_CORE`` 0 where the ``resource`` module exists (Linux, macOS, BSD),
and on Linux also ``prctl(PR_SET_DUMPABLE, 0)``, which additionally stops crash
collectors that ignore the limit (a ``core_pattern`` pipe) and other processes of
the same user from attaching with ptrace or reading ``/proc/<pid>/mem``.
Windows has neither; Windows Error Reporting is outside a process's control.

``KEEPSAKE_ALLOW_DEBUGGER=1`` keeps the process attachable (profilers such as
py-spy read its memory the way a debugger does; ``make bench --profile`` sets it);
core dumps stay off. Whoever can set the environment can already run code as you.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def _libc() -> ctypes.CDLL | None:
    """The C library already loaded into Python (no ``find_library``: it runs
    ``ldconfig`` in a subprocess, too slow for every CLI start)."""
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def disable_core_dumps() -> list[str]:
    """Turn off core dumps for this process; returns what could not be done (for a
    log line), never raises: a missing protection must not stop a backup."""
    problems: list[str] = []
    try:
        import resource
    except ImportError:  # Windows
        pass
    else:
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        except (ValueError, OSError) as exc:
            problems.append(f"RLIMIT_CORE: {exc}")
    if sys.platform.startswith("linux") and not os.environ.get("KEEPSAKE_ALLOW_DEBUGGER"):
        libc = _libc()
        if libc is None or libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            errno = ctypes.get_errno() if libc is not None else 0
            problems.append(f"PR_SET_DUMPABLE: errno {errno}")
    for problem in problems:
        with contextlib.suppress(Exception):
            log.warning("Could not disable core dumps (%s)", problem)
    return problems


def core_dumps_disabled() -> bool:
    """True when this process cannot write a core dump (for tests and diagnostics)."""
    try:
        import resource
    except ImportError:
        return False
    if resource.getrlimit(resource.RLIMIT_CORE) != (0, 0):
        return False
    if sys.platform.startswith("linux"):
        libc = _libc()
        return libc is not None and int(libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)) == 0
    return True


# Named after the installer's AppMutex (installers/windows/keepsake.iss): while the app
# holds it, setup and uninstall ask the user to close Keepsake first instead of
# failing on files in use. Both the session and the global name, as Inno Setup advises.
APP_MUTEX_NAMES = ("KeepsakeRunning", "Global\\KeepsakeRunning")
_mutex_handles: list[int] = []


def hold_app_mutex() -> bool:
    """On Windows, create the named mutexes for the life of the process; elsewhere
    (and on failure) do nothing. True when at least one is held."""
    if sys.platform != "win32" or _mutex_handles:
        return bool(_mutex_handles)
    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined,unused-ignore]
    for name in APP_MUTEX_NAMES:
        handle = kernel32.CreateMutexW(None, False, name)
        if handle:
            _mutex_handles.append(int(handle))
    return bool(_mutex_handles)
