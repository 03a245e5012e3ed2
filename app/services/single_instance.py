"""One Keepsake per user: a second launch asks the first to show itself.

The guard is a lock file in a per-user private folder (``paths.runtime_dir()``,
0700: ``$XDG_RUNTIME_DIR/keepsake`` on Linux, else a folder in the user's cache):
an exclusive ``flock`` that the kernel drops when the process dies, so a crash
never leaves a stale lock and deleting files does not let a second instance in.
The socket beside it only carries the "raise your window" message. Nothing lives
under a predictable name in a shared /tmp, so another local user can neither
squat the name (making Keepsake exit as "already running") nor connect to it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.core.paths import private_dir

log = logging.getLogger(__name__)

MESSAGE = b"raise\n"
LOCK_NAME = "instance.lock"
SOCKET_NAME = "instance.sock"


class _InstanceLock:
    """An exclusive, non-blocking lock held for the life of the process.

    POSIX: ``flock`` on a file opened without following links (two opens in one
    process conflict too, which the tests rely on). Elsewhere: ``QLockFile`` with
    no stale timeout (Windows keeps an open file from being deleted).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._qlock: QLockFile | None = None

    def acquire(self) -> bool:
        try:
            import fcntl
        except ImportError:
            qlock = QLockFile(str(self.path))
            qlock.setStaleLockTime(0)
            if not qlock.tryLock(0):
                return False
            self._qlock = qlock
            return True
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # drops the flock; the file stays for the next one
            self._fd = None
        if self._qlock is not None:
            self._qlock.unlock()
            self._qlock = None


def server_name(directory: Path) -> str:
    """The local socket's name: a path inside the private folder on POSIX; on
    Windows (named pipes have no folders) a name derived from that folder."""
    if sys.platform == "win32":
        digest = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
        return f"keepsake-{digest}"
    return str(directory / SOCKET_NAME)


class SingleInstance(QObject):
    """Call :meth:`claim`; if it returns False another instance holds the lock
    (and was asked to raise its window)."""

    raiseRequested = Signal()

    def __init__(self, directory: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.directory = directory
        self.server_name = server_name(directory)
        self._lock = _InstanceLock(directory / LOCK_NAME)
        self._server: QLocalServer | None = None
        self._sockets: list[QLocalSocket] = []

    def notify_running(self, timeout_ms: int = 1000) -> bool:
        """Tell a running instance to raise its window; True if one answered."""
        sock = QLocalSocket()
        sock.connectToServer(self.server_name)
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(MESSAGE)
        sock.flush()
        sock.waitForBytesWritten(timeout_ms)
        sock.disconnectFromServer()
        return True

    def claim(self) -> bool:
        """Become the running instance, or hand over to the one that already is.

        Only the lock decides. If the private folder cannot be made or locked at
        all, we run anyway (better two instances than none) and say so in the log.
        """
        try:
            private_dir(self.directory)
            locked = self._lock.acquire()
        except OSError as exc:
            log.warning("Single-instance lock unavailable (%s); starting anyway", exc)
            return True
        if not locked:
            if not self.notify_running():
                log.info("Another Keepsake holds the lock but did not answer")
            return False
        QLocalServer.removeServer(self.server_name)  # ours: left by a crash
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.server_name):
            # Still the only instance (we hold the lock); a second launch just
            # cannot raise our window.
            log.warning("Single-instance server failed: %s", server.errorString())
            return True
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        self._lock.release()

    @Slot()
    def _on_connection(self) -> None:
        assert self._server is not None
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            sock.setParent(self)
            self._sockets.append(sock)
            sock.readyRead.connect(self._read_all)
            sock.disconnected.connect(self._read_all)
        self._read_all()

    @Slot()
    def _read_all(self) -> None:
        """Read every client's message; forget clients that have gone."""
        wanted = False
        for sock in list(self._sockets):
            if sock.bytesAvailable():
                wanted = wanted or b"raise" in bytes(sock.readAll().data())
            if sock.state() == QLocalSocket.LocalSocketState.UnconnectedState:
                self._sockets.remove(sock)
                sock.deleteLater()
        if wanted:
            self.raiseRequested.emit()
