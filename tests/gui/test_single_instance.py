"""One Keepsake per user (issue 11 item 16): the guard is a lock in a per-user
private folder; a listener squatting the old shared name cannot stop start-up, and
a deleted socket file does not let a second instance in."""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core import paths
from app.services import single_instance as si
from app.services.single_instance import SingleInstance

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX sockets and flock")


@pytest.fixture
def instances() -> Iterator[list[SingleInstance]]:
    made: list[SingleInstance] = []
    yield made
    for inst in made:
        inst.release()


def claim(made: list[SingleInstance], directory: Path) -> bool:
    inst = SingleInstance(directory)
    made.append(inst)
    return inst.claim()


def test_second_claim_raises_the_first(
    qtbot: QtBot, tmp_path: Path, instances: list[SingleInstance]
) -> None:
    run = tmp_path / "run"
    assert claim(instances, run)
    assert stat.S_IMODE(run.stat().st_mode) == 0o700
    with qtbot.waitSignal(instances[0].raiseRequested, timeout=5000):
        assert not claim(instances, run)
    instances[0].release()
    assert claim(instances, run)  # the first is gone: a new one may run


def test_deleting_the_socket_file_does_not_allow_a_second_instance(
    tmp_path: Path, instances: list[SingleInstance]
) -> None:
    run = tmp_path / "run"
    assert claim(instances, run)
    (run / si.SOCKET_NAME).unlink()
    assert not claim(instances, run)  # the lock, not the socket, decides


def test_a_crashed_instance_leaves_no_stale_lock(
    tmp_path: Path, instances: list[SingleInstance]
) -> None:
    """The kernel drops a flock with its process: a leftover file does not block."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    (run / si.LOCK_NAME).write_text("12345\n")
    (run / si.SOCKET_NAME).write_text("")  # a dead socket's file
    assert claim(instances, run)


def test_runtime_dir_is_private_and_never_a_shared_tmp_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEEPSAKE_RUNTIME_DIR")
    xdg = tmp_path / "xdg"
    xdg.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(xdg))
    assert paths.runtime_dir() == xdg / "keepsake"
    xdg.chmod(0o777)  # not private: fall back to the (0700) cache folder
    assert paths.runtime_dir() == paths.cache_dir() / "run"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert paths.runtime_dir() == paths.cache_dir() / "run"


def _lock_held(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False


@pytest.fixture
def squatter() -> Iterator[str]:
    """A listener at the name Keepsake used to use, /tmp/keepsake-<user>, as
    another local user (or anyone) could plant it before Keepsake starts."""
    path = f"/tmp/keepsake-{getpass.getuser()}"
    if os.path.exists(path):
        pytest.skip(f"{path} exists (a real Keepsake or another test run has it)")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
    except OSError:  # another run took it between the check and now
        sock.close()
        pytest.skip(f"{path} was just taken by another process")
    sock.listen(8)
    yield path
    sock.close()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def test_a_listener_at_the_old_shared_name_does_not_stop_start_up(
    squatter: str, isolated: Path
) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    env.pop("KEEPSAKE_INSTANCE_NAME", None)
    lock = Path(env["KEEPSAKE_RUNTIME_DIR"]) / "instance.lock"
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "gui", "--minimized"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and not _lock_held(lock) and time.monotonic() < deadline:
            time.sleep(0.05)  # a separate process: nothing to wait on but its lock
        assert proc.poll() is None, f"exited: {proc.communicate()}"
        assert _lock_held(lock)
        # A second launch defers to it, not to the squatter.
        second = SingleInstance(lock.parent)
        assert not second.claim()
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
