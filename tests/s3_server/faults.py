"""A loopback HTTP proxy in front of the S3 server that misbehaves on purpose.

It relays requests byte for byte (the ``Host`` header too, so signatures stay valid)
and, by chance (``S3Faults`` rates, seeded) or by plan (``inject``), instead:

* ``drop``: closes the connection before the request reaches the server;
* ``drop_reply``: lets the server do the work, then closes without answering
  (the client cannot know it succeeded: a lost reply);
* ``slow_down``: answers 503 SlowDown, as S3 does when throttling;
* ``error_500``: answers 500 InternalError;
* ``truncate``: relays the reply's headers and half of its body, then closes;
* ``access_denied`` (by plan only): answers 403 AccessDenied, as for a key that
  lacks a permission.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

FAULTS = ("drop", "drop_reply", "slow_down", "error_500", "truncate")
_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection"}
_ERRORS = {
    "slow_down": (503, "SlowDown", "Please reduce your request rate."),
    "error_500": (500, "InternalError", "We encountered an internal error. Please try again."),
    # Only by plan: what a key without the needed permission gets.
    "access_denied": (403, "AccessDenied", "Access Denied"),
}


@dataclass
class S3Faults:
    """Per-request probabilities of each fault."""

    drop: float = 0.0
    drop_reply: float = 0.0
    slow_down: float = 0.0
    error_500: float = 0.0
    truncate: float = 0.0


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # with the query string

    @property
    def query(self) -> str:
        return urlsplit(self.path).query


Matcher = Callable[[Request], bool]


class FaultProxy:
    """``with FaultProxy(upstream) as proxy:`` then point clients at ``proxy.endpoint``."""

    def __init__(self, upstream: str, *, faults: S3Faults | None = None, seed: int = 7) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.faults = faults or S3Faults()
        self.injected: Counter[str] = Counter()
        self.requests: list[Request] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._plan: list[tuple[Matcher, str, list[int]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"

    def inject(self, match: Matcher, fault: str, times: int = 1) -> None:
        """Apply ``fault`` to the next ``times`` requests for which ``match`` is true."""
        assert fault in FAULTS or fault in _ERRORS
        with self._lock:
            self._plan.append((match, fault, [times]))

    def _choose(self, request: Request) -> str | None:
        with self._lock:
            self.requests.append(request)
            for match, fault, left in self._plan:
                if left[0] > 0 and match(request):
                    left[0] -= 1
                    self.injected[fault] += 1
                    return fault
            roll = self._rng.random()
            for fault in FAULTS:
                rate = float(getattr(self.faults, fault))
                if roll < rate:
                    self.injected[fault] += 1
                    return fault
                roll -= rate
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fault = proxy._choose(Request(self.command, self.path))
                if fault == "drop":
                    self._hang_up()
                    return
                if fault in _ERRORS:
                    self._error(*_ERRORS[fault])
                    return
                status, headers, reply = self._forward(body)
                if fault == "drop_reply":
                    self._hang_up()
                    return
                self.send_response(status)
                head = self.command == "HEAD"  # keeps the object's Content-Length, no body
                for name, value in headers:
                    if name.lower() not in _HOP and (head or name.lower() != "content-length"):
                        self.send_header(name, value)
                if not head:
                    self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                if fault == "truncate" and len(reply) > 1:
                    self.wfile.write(reply[: len(reply) // 2])
                    self._hang_up()
                    return
                self.wfile.write(reply)

            def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                try:
                    conn.putrequest(
                        self.command, self.path, skip_host=True, skip_accept_encoding=True
                    )
                    for name, value in self.headers.items():
                        if name.lower() not in _HOP:
                            conn.putheader(name, value)
                    conn.endheaders(body if body else None)
                    resp = conn.getresponse()
                    reply = resp.read()
                    return resp.status, resp.getheaders(), reply
                finally:
                    conn.close()

            def _error(self, status: int, code: str, message: str) -> None:
                xml = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(xml)))
                self.end_headers()
                self.wfile.write(xml)

            def _hang_up(self) -> None:
                self.close_connection = True
                self.wfile.flush()
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        return Handler

    def __enter__(self) -> FaultProxy:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
