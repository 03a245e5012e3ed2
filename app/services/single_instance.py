"""One Keepsake per user session: a second launch asks the first to show itself.

The first instance listens on a QLocalServer; a later one connects, sends
``raise``, and exits. A stale socket left by a crash is removed before listening.
The server name is injectable so tests run side by side.
"""

from __future__ import annotations

import getpass
import logging

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

MESSAGE = b"raise\n"


def default_server_name() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "user"
    return f"keepsake-{user}"


class SingleInstance(QObject):
    """Call :meth:`claim`; if it returns False another instance was told to raise."""

    raiseRequested = Signal()

    def __init__(self, server_name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server_name = server_name
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
        """Become the running instance, or hand over to the one that already is."""
        if self.notify_running():
            return False
        QLocalServer.removeServer(self.server_name)  # stale socket after a crash
        server = QLocalServer(self)
        server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not server.listen(self.server_name):
            log.warning("Single-instance server failed: %s", server.errorString())
            return True  # better two instances than none
        server.newConnection.connect(self._on_connection)
        self._server = server
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

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
