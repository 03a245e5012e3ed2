"""Process limits the engine raises for itself.

A walk over a folder tree keeps one descriptor open per level of the current path
(backup), or a pool of them (restore), so the default soft limit on open files
(256 on macOS, 1024 on many Linux desktops) would cut a deep tree short with "too
many open files". The hard limit is the system's real bound; the soft one is ours to
raise.
"""

from __future__ import annotations

FD_LIMIT_WANTED = 65536


def raise_open_files_limit() -> int:
    """Raise the soft limit on open files towards ``FD_LIMIT_WANTED`` (within the
    hard limit); returns the soft limit now in force (a large number if unknown)."""
    try:
        import resource
    except ImportError:  # Windows: no such limit
        return FD_LIMIT_WANTED
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = FD_LIMIT_WANTED if hard == resource.RLIM_INFINITY else min(hard, FD_LIMIT_WANTED)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
    except (OSError, ValueError):
        return 1024
    return FD_LIMIT_WANTED if soft == resource.RLIM_INFINITY else int(soft)
