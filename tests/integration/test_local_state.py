"""Local state is private (issue 11 items 14 and 15): the cache, settings, history
and log are 0600 in 0700 folders, older loose permissions are tightened on start,
and neither the CLI nor the desktop app can leave a core dump of its memory."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core import paths

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The common default: what a file gets when nobody asks for privacy."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, KEEPSAKE_PASSWORD="pw")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; os.umask(0o022); from app.cli import main; "
            "sys.exit(main(sys.argv[1:]))",
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_cli_backup_leaves_only_private_files(tmp_path: Path, isolated_dirs: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "secret-name.txt").write_text("x")
    repo = str(tmp_path / "vault")
    assert run_cli("init", "--repo", repo).returncode == 0
    done = run_cli("backup", "--repo", repo, str(src))
    assert done.returncode == 0, done.stderr
    cache = isolated_dirs / "cache"
    config = isolated_dirs / "config"
    created = [p for root in (cache, config) for p in [root, *root.rglob("*")]]
    assert any(p.name == "cache.sqlite" for p in created)
    assert any(p.name == "device-id" for p in created)
    for p in created:
        expected = 0o700 if p.is_dir() else 0o600
        assert mode(p) == expected, f"{p} is {oct(mode(p))}"


def test_loose_files_from_older_versions_are_tightened_on_start(
    tmp_path: Path, isolated_dirs: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    loose: list[Path] = []
    for rel in (
        "config/settings.json",
        "config/history.sqlite3",
        "log/keepsake.log",
        "log/keepsake.log.1",
        "cache/0123abcd/cache.sqlite",
        "cache/0123abcd/cache.sqlite-wal",
        "data/whatever",
    ):
        p = isolated_dirs / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.parent.chmod(0o755)
        p.write_text("{}")
        p.chmod(0o644)
        loose.append(p)
    (isolated_dirs / "cache").chmod(0o755)
    (isolated_dirs / "cache" / "link").symlink_to(outside)
    result = run_cli("snapshots", "--repo", str(tmp_path / "no-vault"))
    assert result.returncode == 1  # any command tightens first
    for p in loose:
        assert mode(p) == 0o600, f"{p} is {oct(mode(p))}"
        assert mode(p.parent) == 0o700, f"{p.parent} is {oct(mode(p.parent))}"
    assert mode(isolated_dirs / "cache") == 0o700
    assert mode(outside) == 0o644  # a link is not followed


def test_history_settings_and_log_are_created_private(tmp_path: Path, loose_umask: None) -> None:
    from app.main import setup_logging
    from app.store.history import HistoryStore
    from app.store.settings import Settings, SettingsStore

    config = tmp_path / "fresh" / "config"
    history = HistoryStore(config / "history.sqlite3")
    history.close()
    SettingsStore(config).save(Settings())
    log_dir = tmp_path / "fresh" / "log"
    root = logging.getLogger()
    before = list(root.handlers)
    setup_logging(log_dir)
    try:
        logging.getLogger("keepsake").warning("a line naming /home/ann/Pictures")
    finally:
        for handler in root.handlers[:]:
            if handler not in before:
                handler.close()
                root.removeHandler(handler)
    for p in (config / "history.sqlite3", config / "settings.json", log_dir / "keepsake.log"):
        assert mode(p) == 0o600, f"{p} is {oct(mode(p))}"
    assert mode(config) == 0o700 and mode(log_dir) == 0o700
    assert mode(tmp_path / "fresh") == 0o700  # missing parents too


def test_private_file_refuses_a_planted_link(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("x")
    target.chmod(0o644)
    link = tmp_path / "state" / "cache.sqlite"
    link.parent.mkdir()
    link.symlink_to(target)
    with pytest.raises(OSError):
        paths.create_private_file(link)
    assert mode(target) == 0o644


# -- item 15: no core dumps ----------------------------------------------------------

REPORT = (
    "import ctypes, json, resource, sys\n"
    "dumpable = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0) if sys.platform == 'linux' else None\n"
    "print(json.dumps({'limit': list(resource.getrlimit(resource.RLIMIT_CORE)),"
    " 'dumpable': dumpable}))\n"
)
OFF = None if sys.platform != "linux" else 0  # PR_GET_DUMPABLE where it exists


# The child starts with a 1 MiB core limit when it may: a pytest worker in which an
# earlier test ran ``app.cli.main`` in-process has a hard limit of 0 itself, which
# no child can raise (being non-dumpable is reset by exec, the limit is inherited).
START_LIMIT = (
    "import resource\n"
    "hard = resource.getrlimit(resource.RLIMIT_CORE)[1]\n"
    "if hard == resource.RLIM_INFINITY or hard >= 1 << 20:\n"
    "    resource.setrlimit(resource.RLIMIT_CORE, (1 << 20, hard))\n"
)


def inherited_hard_core_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_CORE)[1]


def run_report(prelude: str, **env: str) -> dict[str, object]:
    """Run ``prelude`` then print the process's core-dump state as seen from inside."""
    code = START_LIMIT
    result = subprocess.run(
        [sys.executable, "-c", code + prelude + REPORT],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(doc, dict)
    return doc


def test_a_fresh_python_could_dump_core() -> None:
    """The control: without Keepsake's start-up the limit stays as the child set it."""
    doc = run_report("")
    limit = doc["limit"]
    assert isinstance(limit, list)
    assert limit[0] == 1 << 20 or inherited_hard_core_limit() < 1 << 20
    assert doc["dumpable"] == (1 if sys.platform == "linux" else None)


def test_cli_disables_core_dumps() -> None:
    doc = run_report("from app.cli import main\nmain(['snapshots', '--repo', '/nonexistent/v'])\n")
    assert doc["limit"] == [0, 0]
    assert doc["dumpable"] == OFF


def test_gui_disables_core_dumps_before_the_window_exists() -> None:
    """``run_gui`` (also reached without ``app.cli.main``) turns dumps off before
    it makes the Qt application; the stand-in stops it right there."""
    prelude = (
        "import app.main as m\n"
        "class Stop(Exception): pass\n"
        "def stop(): raise Stop()\n"
        "m.make_qapp = stop\n"
        "try:\n    m.run_gui()\nexcept Stop:\n    pass\n"
    )
    doc = run_report(prelude)
    assert doc["limit"] == [0, 0]
    assert doc["dumpable"] == OFF


def test_a_profiler_may_attach_but_core_dumps_stay_off() -> None:
    """``KEEPSAKE_ALLOW_DEBUGGER`` (set by ``make bench --profile`` for py-spy)."""
    doc = run_report(
        "from app.cli import main\nmain(['snapshots', '--repo', '/nonexistent/v'])\n",
        KEEPSAKE_ALLOW_DEBUGGER="1",
    )
    assert doc["limit"] == [0, 0]
    assert doc["dumpable"] == (1 if sys.platform == "linux" else None)
