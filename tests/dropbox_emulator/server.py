"""An HTTPS server that speaks the subset of Dropbox API v2 Keepsake uses.

The wire format follows what the official SDK 12.2.4 sends and accepts (see
https://www.dropbox.com/developers/documentation/http/documentation and
docs/DROPBOX.md): every call is a POST to ``/2/<route>``;
RPC arguments are a JSON body, upload and download arguments a ``Dropbox-API-Arg``
header; success bodies are ``application/json`` exactly (the SDK asserts equality),
Void results are ``null``, downloads carry ``Dropbox-API-Result``; route errors are
409 ``{"error_summary", "error"}``; 401 and 429 are JSON; unknown routes and bad
input are 400 ``text/plain``. OAuth 2 with PKCE is served at ``/oauth2/authorize``
(a page with an Allow button) and ``/oauth2/token``.

Faults are drawn per request from a seeded RNG (``Faults``) and can be changed at
any time, from Python (``emulator.faults.drop = 0.1``) or over HTTP
(``POST /_emulator/faults``). ``/_emulator/stats`` counts calls per route so tests
and benchmarks can measure API calls per GiB.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import json
import random
import secrets
import socket
import ssl
import struct
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

from app.storage.content_hash import ContentHasher
from tests.dropbox_emulator.store import (
    BadRequest,
    Body,
    FileEntry,
    Json,
    MiB,
    Store,
    WireError,
    tag,
)

ACCOUNT_ID = "dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"  # exactly 40 characters
UID = "12345"
SCOPES = "account_info.read files.content.read files.content.write files.metadata.read"
DEFAULT_APP_KEY = "keepsake-emulator"
FAULT_KINDS = (
    "error_500",
    "error_503",
    "rate_limit_json",
    "rate_limit_text",
    "drop",
    "truncate",
    "slow",
    "cursor_reset",
)


@dataclass
class Faults:
    """Probabilities (0..1) of each injected failure, per request.

    ``drop`` closes the connection without a reply, half the time before the call
    takes effect and half the time after (so a client cannot assume either);
    ``truncate`` sends the full Content-Length but half the body; ``slow`` waits
    ``slow_seconds`` before replying; ``cursor_reset`` makes list_folder/continue
    answer ``reset``. ``rate_limit_burst`` makes the next N calls 429.
    """

    error_500: float = 0.0
    error_503: float = 0.0
    rate_limit_json: float = 0.0
    rate_limit_text: float = 0.0
    drop: float = 0.0
    truncate: float = 0.0
    slow: float = 0.0
    cursor_reset: float = 0.0
    slow_seconds: float = 0.5
    retry_after: int = 0
    rate_limit_burst: int = 0
    include_oauth: bool = True  # faults on /oauth2/token too

    @classmethod
    def only(cls, kind: str, rate: float, **extra: Any) -> Faults:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        fields: dict[str, Any] = {kind: rate, **extra}
        return cls(**fields)

    def update(self, values: dict[str, Any]) -> None:
        names = {f.name for f in fields(self)}
        for key, value in values.items():
            if key not in names:
                raise ValueError(f"unknown fault setting {key!r}")
            setattr(self, key, value)


@dataclass
class _Token:
    app_key: str
    expires_at: float | None  # wall clock; None = never


@dataclass
class _AuthCode:
    app_key: str
    challenge: str
    offline: bool
    expires_at: float


class _Reply:
    """A response to send: status, headers, and either bytes or a file range."""

    def __init__(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        file: tuple[Path, int, int] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}
        self.file = file  # (path, offset, length)

    @property
    def length(self) -> int:
        return self.file[2] if self.file is not None else len(self.body)


def _json_reply(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(value).encode("ascii"), "application/json", headers)


def _text_reply(status: int, text: str, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, text.encode(), "text/plain; charset=utf-8", headers)


def _summary(error: Any) -> str:
    """``error_summary``: the tags down the union, joined by ``/``, plus dots."""
    parts: list[str] = []
    node = error
    while isinstance(node, dict) and ".tag" in node:
        name = node[".tag"]
        parts.append(name)
        child = node.get(name)
        if not isinstance(child, dict):
            child = next((v for v in node.values() if isinstance(v, dict) and ".tag" in v), None)
        node = child
    return "/".join(parts) + "/.."


def _error_reply(error: Json) -> _Reply:
    return _json_reply({"error_summary": _summary(error), "error": error}, status=409)


def _void(value: Any, default: str) -> str:
    """A void union member arrives as ``{".tag": x}`` or as the bare string ``x``."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get(".tag"), str):
        return str(value[".tag"])
    raise BadRequest(f"expected a union tag, got {value!r}")


def _mode(value: Any) -> Json:
    if value is None:
        return {".tag": "add"}
    if isinstance(value, str):
        return {".tag": value}
    if isinstance(value, dict) and value.get(".tag") in ("add", "overwrite", "update"):
        return value
    raise BadRequest(f"mode: unknown union member {value!r}")


def _parse_time(value: str | None) -> float | None:
    if value is None:
        return None
    return datetime.strptime(value + "+0000", "%Y-%m-%dT%H:%M:%SZ%z").timestamp()


def _require(arg: Any, name: str, kind: type | tuple[type, ...] = str) -> Any:
    if not isinstance(arg, dict) or name not in arg:
        raise BadRequest(f'request body: missing required field "{name}"')
    value = arg[name]
    if not isinstance(value, kind):
        raise BadRequest(f"request body: {name}: wrong type")
    return value


def _check_read_path(path: str, allow_root: bool = False) -> None:
    if path == "" and allow_root:
        return
    if path == "/" or path == "":
        raise BadRequest(
            'request body: path: Specify the root folder as an empty string rather than as "/".'
            if path == "/"
            else "request body: path: the root folder is unsupported."
        )


_CA: trustme.CA | None = None
_CA_LOCK = threading.Lock()


def _shared_ca() -> trustme.CA:
    """One test CA per process: clients cache trust by CA content, so emulators
    sharing it start fast; each emulator still gets its own server certificate."""
    global _CA
    with _CA_LOCK:
        if _CA is None:
            _CA = trustme.CA()
        return _CA


def _corrupt(body: Body) -> Body:
    """Flip one byte of an uploaded body (in place) and rehash it."""
    if body.size == 0:
        with open(body.path, "wb") as fh:
            fh.write(b"\x00")
    else:
        with open(body.path, "r+b") as fh:
            fh.seek(body.size // 2)
            byte = fh.read(1)
            fh.seek(body.size // 2)
            fh.write(bytes([byte[0] ^ 0xFF]))
    hasher = ContentHasher()
    with open(body.path, "rb") as fh:
        while piece := fh.read(MiB):
            hasher.update(piece)
    return Body(body.path, body.path.stat().st_size, hasher.hexdigest())


class DropboxEmulator:
    """A loopback HTTPS Dropbox. Use as a context manager or call start()/stop().

    ``root`` holds contents and the generated CA certificate (``root/ca.pem``).
    Knobs that can change while it runs: ``faults`` (a ``Faults``), ``quota_bytes``,
    ``token_ttl``, ``batch_polls_in_progress``, ``max_request_bytes``; and the
    methods ``expire_access_tokens()`` and ``revoke_refresh_tokens()``.
    """

    def __init__(
        self,
        root: Path | str,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        app_key: str = DEFAULT_APP_KEY,
        faults: Faults | None = None,
        seed: int = 0,
        quota_bytes: int = 2 * 1024**4,
        token_ttl: int = 14400,
        max_request_bytes: int = 150 * MiB,
        list_page_size: int = 1000,
        batch_polls_in_progress: int = 1,
        static_token: str | None = None,
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.root / "data", quota_bytes=quota_bytes)
        self.host = host
        self._requested_port = port
        self.app_key = app_key
        self.faults = faults or Faults()
        self.token_ttl = token_ttl
        self.max_request_bytes = max_request_bytes
        self.list_page_size = list_page_size
        self.batch_polls_in_progress = batch_polls_in_progress
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.faults_injected: Counter[str] = Counter()
        self.bytes_uploaded = 0
        self.bytes_downloaded = 0
        self._tokens: dict[str, _Token] = {}
        self._refresh_tokens: dict[str, str] = {}  # refresh token -> app key
        self._codes: dict[str, _AuthCode] = {}
        self._jobs: dict[str, tuple[Json, int]] = {}  # async job id -> (result, polls left)
        self.static_token = static_token or "sl.static-" + secrets.token_urlsafe(24)
        self._tokens[self.static_token] = _Token(app_key, None)
        self._scripted: list[tuple[str, str]] = []  # (route or "*", kind), consumed in order
        self.inflight = 0
        self.inflight_max = 0
        self._server: _TLSServer | None = None
        self._thread: threading.Thread | None = None
        self.ca_path = self.root / "ca.pem"

    # -- knobs ---------------------------------------------------------------------

    @property
    def quota_bytes(self) -> int:
        return self.store.quota_bytes

    @quota_bytes.setter
    def quota_bytes(self, value: int) -> None:
        self.store.quota_bytes = value

    def expire_access_tokens(self, *, include_static: bool = False) -> None:
        """Make every access token answer 401 expired_access_token from now on."""
        with self._lock:
            for token, info in self._tokens.items():
                if token != self.static_token or include_static:
                    info.expires_at = 0.0

    def revoke_refresh_tokens(self) -> None:
        """The user unlinked the app: refreshing now fails with invalid_grant."""
        with self._lock:
            self._refresh_tokens.clear()
            self._tokens = {k: v for k, v in self._tokens.items() if k == self.static_token}

    def issue_refresh_token(self) -> str:
        """A refresh token as if the user had connected (skips the browser step)."""
        token = secrets.token_urlsafe(48)
        with self._lock:
            self._refresh_tokens[token] = self.app_key
        return token

    def reset_stats(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults_injected.clear()
            self.bytes_uploaded = 0
            self.bytes_downloaded = 0
            self.inflight_max = self.inflight

    def track(self, delta: int) -> None:
        with self._lock:
            self.inflight += delta
            self.inflight_max = max(self.inflight_max, self.inflight)

    def stats(self) -> Json:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "total_calls": sum(self.calls.values()),
                "faults_injected": dict(self.faults_injected),
                "bytes_uploaded": self.bytes_uploaded,
                "bytes_downloaded": self.bytes_downloaded,
                "inflight_max": self.inflight_max,
            }

    # -- lifecycle -----------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The environment a client needs to use this emulator with a static token."""
        return {
            "DROPBOX_API_HOST": self.address,
            "DROPBOX_API_CONTENT_HOST": self.address,
            "DROPBOX_WEB_HOST": self.address,
            "KEEPSAKE_DROPBOX_CA_BUNDLE": str(self.ca_path),
            "KEEPSAKE_DROPBOX_APP_KEY": self.app_key,
            "KEEPSAKE_DROPBOX_ACCESS_TOKEN": self.static_token,
        }

    def start(self) -> DropboxEmulator:
        ca = _shared_ca()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(str(self.ca_path))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        self._server = _TLSServer((self.host, self._requested_port), _Handler, ctx, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="dropbox-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self.store.save()

    def __enter__(self) -> DropboxEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request plumbing ----------------------------------------------------------

    def fail_next(self, route: str, kind: str, times: int = 1) -> None:
        """Script a fault for the next ``times`` calls of ``route`` (``"*"``: any route).

        Kinds: those of ``Faults`` (``drop`` is split into ``drop_before`` and
        ``drop_after``), plus ``corrupt_in_transit`` (the body arrives damaged, so
        the per-call content_hash check refuses it), ``corrupt_stored`` (the
        server keeps a damaged copy and reports its hash, as a buggy server would)
        and ``expire_tokens`` (every access token expires just before this call).
        """
        with self._lock:
            self._scripted.extend([(route, kind)] * times)

    def draw_fault(self, route: str) -> str | None:
        with self._lock:
            for i, (want, kind) in enumerate(self._scripted):
                if want in ("*", route):
                    del self._scripted[i]
                    self.faults_injected[kind] += 1
                    return kind
            f = self.faults
            if f.rate_limit_burst > 0:
                f.rate_limit_burst -= 1
                self.faults_injected["rate_limit_json"] += 1
                return "rate_limit_json"
            roll = self._rng.random()
            acc = 0.0
            for kind in FAULT_KINDS:
                if kind == "cursor_reset" and route != "files/list_folder/continue":
                    continue
                acc += float(getattr(f, kind))
                if roll < acc:
                    if kind == "drop":
                        kind = "drop_before" if self._rng.random() < 0.5 else "drop_after"
                    self.faults_injected[kind] += 1
                    return kind
            return None

    def count(self, route: str, uploaded: int = 0) -> None:
        with self._lock:
            self.calls[route] += 1
            self.bytes_uploaded += uploaded

    def count_download(self, n: int) -> None:
        with self._lock:
            self.bytes_downloaded += n

    def check_token(self, header: str | None, route: str) -> _Reply | None:
        if not header or not header.startswith("Bearer "):
            return _text_reply(
                400,
                f'Error in call to API function "{route}": Must provide HTTP header '
                '"Authorization" or URL parameter "authorization".',
            )
        token = header[len("Bearer ") :]
        with self._lock:
            info = self._tokens.get(token)
        if info is None:
            error = tag("invalid_access_token")
        elif info.expires_at is not None and time.time() >= info.expires_at:
            error = tag("expired_access_token")
        else:
            return None
        return _json_reply({"error_summary": f"{error['.tag']}/..", "error": error}, status=401)

    def _mint_access_token(self, app_key: str) -> str:
        token = "sl." + secrets.token_urlsafe(40)
        with self._lock:
            self._tokens[token] = _Token(app_key, time.time() + self.token_ttl)
        return token

    # -- OAuth ---------------------------------------------------------------------

    def authorize_page(self, query: dict[str, str]) -> _Reply:
        problem = None
        if query.get("response_type") != "code":
            problem = "response_type must be code"
        elif query.get("client_id") != self.app_key:
            problem = "Invalid client_id"
        elif not query.get("code_challenge") or query.get("code_challenge_method") != "S256":
            problem = "This app has no secret: PKCE with code_challenge_method=S256 is required"
        elif query.get("token_access_type", "online") not in ("offline", "online", "legacy"):
            problem = "Invalid token_access_type"
        if problem is not None:
            return _Reply(400, f"<p>{html.escape(problem)}</p>".encode(), "text/html")
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in sorted(query.items())
        )
        page = (
            "<!doctype html><title>API Request Authorization</title>"
            '<form method="post" action="/oauth2/authorize">'
            f"{hidden}<p>Keepsake would like access to its own folder, Apps/Keepsake.</p>"
            '<button name="decision" value="allow">Allow</button>'
            '<button name="decision" value="deny">Cancel</button></form>'
        )
        return _Reply(200, page.encode(), "text/html; charset=utf-8")

    def authorize_decision(self, form: dict[str, str]) -> _Reply:
        if form.get("decision") != "allow":
            return _Reply(200, b"<p>You denied the request.</p>", "text/html; charset=utf-8")
        if form.get("client_id") != self.app_key or not form.get("code_challenge"):
            return _Reply(400, b"<p>Invalid request</p>", "text/html")
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _AuthCode(
                form["client_id"],
                form["code_challenge"],
                form.get("token_access_type") == "offline",
                time.time() + 600,
            )
        page = (
            "<!doctype html><title>Access code</title>"
            "<p>Enter this code into Keepsake to finish connecting:</p>"
            f'<input id="code" readonly value="{code}">'
        )
        return _Reply(200, page.encode(), "text/html; charset=utf-8")

    def token(self, form: dict[str, str]) -> _Reply:
        def fail(error: str, description: str) -> _Reply:
            return _json_reply({"error": error, "error_description": description}, status=400)

        grant = form.get("grant_type")
        client_id = form.get("client_id")
        if client_id != self.app_key:
            return fail("invalid_client", "Invalid client_id or client_secret")
        if grant == "authorization_code":
            with self._lock:
                code = self._codes.pop(form.get("code", ""), None)
            if code is None or code.expires_at < time.time() or code.app_key != client_id:
                return fail("invalid_grant", "code doesn't exist or has expired")
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            if not secrets.compare_digest(challenge, code.challenge):
                return fail("invalid_grant", "invalid code verifier")
            reply: Json = {
                "access_token": self._mint_access_token(client_id),
                "token_type": "bearer",
                "expires_in": self.token_ttl,
                "scope": SCOPES,
                "uid": UID,
                "account_id": ACCOUNT_ID,
            }
            if code.offline:
                refresh = secrets.token_urlsafe(48)
                with self._lock:
                    self._refresh_tokens[refresh] = client_id
                reply["refresh_token"] = refresh
            return _json_reply(reply)
        if grant == "refresh_token":
            with self._lock:
                owner = self._refresh_tokens.get(form.get("refresh_token", ""))
            if owner != client_id:
                return fail("invalid_grant", "refresh token is invalid or revoked")
            return _json_reply(
                {
                    "access_token": self._mint_access_token(client_id),
                    "token_type": "bearer",
                    "expires_in": self.token_ttl,
                }
            )
        return fail("unsupported_grant_type", f"unsupported grant_type {grant!r}")

    # -- routes --------------------------------------------------------------------

    def account(self, _arg: Any, _body: Body | None) -> _Reply:
        return _json_reply(
            {
                "account_id": ACCOUNT_ID,
                "name": {
                    "given_name": "Ann",
                    "surname": "Example",
                    "familiar_name": "Ann",
                    "display_name": "Ann Example",
                    "abbreviated_name": "AE",
                },
                "email": "ann@example.com",
                "email_verified": True,
                "disabled": False,
                "country": "US",
                "locale": "en",
                "referral_link": "https://db.tt/ZITNuhtI",
                "is_paired": False,
                "account_type": {".tag": "basic"},
                "root_info": {
                    ".tag": "user",
                    "root_namespace_id": "3235641",
                    "home_namespace_id": "3235641",
                },
            }
        )

    def space_usage(self, _arg: Any, _body: Body | None) -> _Reply:
        return _json_reply(
            {
                "used": self.store.used_bytes(),
                "allocation": {".tag": "individual", "allocated": self.store.quota_bytes},
            }
        )

    def _check_body(self, arg: Json, body: Body) -> None:
        if body.size > self.max_request_bytes:
            raise WireError(tag("payload_too_large"))
        expected = arg.get("content_hash")
        if expected is not None and expected != body.content_hash:
            raise WireError(tag("content_hash_mismatch"))

    def upload(self, arg: Any, body: Body | None) -> _Reply:
        assert body is not None
        path = _require(arg, "path")
        self._check_body(arg, body)
        try:
            entry = self.store.commit(
                path,
                body,
                mode=_mode(arg.get("mode")),
                autorename=bool(arg.get("autorename", False)),
                strict_conflict=bool(arg.get("strict_conflict", False)),
                client_modified=_parse_time(arg.get("client_modified")),
            )
        except WireError as exc:
            sid = self.store.adopt_session(body)
            return _error_reply(tag("path", reason=exc.error, upload_session_id=sid))
        return _json_reply(entry.metadata(with_tag=False))

    def session_start(self, arg: Any, body: Body | None) -> _Reply:
        assert body is not None
        arg = arg if isinstance(arg, dict) else {}
        self._check_body(arg, body)
        concurrent = _void(arg.get("session_type"), "sequential") == "concurrent"
        sid = self.store.start_session(body, bool(arg.get("close", False)), concurrent)
        return _json_reply({"session_id": sid})

    def session_append(self, arg: Any, body: Body | None) -> _Reply:
        assert body is not None
        cursor = _require(arg, "cursor", dict)
        self._check_body(arg, body)
        self.store.append(
            _require(cursor, "session_id"),
            _require(cursor, "offset", int),
            body,
            bool(arg.get("close", False)),
        )
        return _json_reply(None)

    def _finish_one(self, cursor: Json, commit: Json, body: Body | None, batch: bool) -> FileEntry:
        sid = _require(cursor, "session_id")
        whole = self.store.assemble(sid, _require(cursor, "offset", int), body, batch=batch)
        try:
            entry = self.store.commit(
                _require(commit, "path"),
                whole,
                mode=_mode(commit.get("mode")),
                autorename=bool(commit.get("autorename", False)),
                strict_conflict=bool(commit.get("strict_conflict", False)),
                client_modified=_parse_time(commit.get("client_modified")),
            )
        except WireError as exc:
            whole.path.unlink(missing_ok=True)
            raise WireError(tag("path", path=exc.error)) from None
        self.store.drop_session(sid)
        return entry

    def session_finish(self, arg: Any, body: Body | None) -> _Reply:
        assert body is not None
        cursor = _require(arg, "cursor", dict)
        commit = _require(arg, "commit", dict)
        self._check_body(arg, body)
        entry = self._finish_one(cursor, commit, body, batch=False)
        return _json_reply(entry.metadata(with_tag=False))

    def _finish_entries(self, arg: Any) -> list[Json]:
        entries = _require(arg, "entries", list)
        if len(entries) > 1000:
            raise BadRequest("request body: entries: list has more than 1000 items")
        results: list[Json] = []
        for item in entries:
            try:
                entry = self._finish_one(
                    _require(item, "cursor", dict), _require(item, "commit", dict), None, True
                )
                results.append({".tag": "success", **entry.metadata(with_tag=False)})
            except WireError as exc:
                results.append({".tag": "failure", "failure": exc.error})
        return results

    def finish_batch_v2(self, arg: Any, _body: Body | None) -> _Reply:
        return _json_reply({"entries": self._finish_entries(arg)})

    def _launch(self, result: Json) -> _Reply:
        job = "dbjid:" + secrets.token_urlsafe(32)
        with self._lock:
            self._jobs[job] = (result, self.batch_polls_in_progress)
        return _json_reply({".tag": "async_job_id", "async_job_id": job})

    def finish_batch_v1(self, arg: Any, _body: Body | None) -> _Reply:
        return self._launch({".tag": "complete", "entries": self._finish_entries(arg)})

    def check_job(self, arg: Any, _body: Body | None) -> _Reply:
        job = _require(arg, "async_job_id")
        with self._lock:
            found = self._jobs.get(job)
            if found is None:
                return _error_reply(tag("invalid_async_job_id"))
            result, polls = found
            if polls > 0:
                self._jobs[job] = (result, polls - 1)
                return _json_reply({".tag": "in_progress"})
        return _json_reply(result)

    def download(self, arg: Any, _body: Body | None, range_header: str | None = None) -> _Reply:
        path = _require(arg, "path")
        _check_read_path(path)
        try:
            entry = self.store.lookup_file(path)
        except WireError as exc:
            return _error_reply(tag("path", path=exc.error))
        result = json.dumps(entry.metadata(with_tag=False))
        headers = {"Dropbox-API-Result": result}
        blob = self.store.blob_path(entry)
        size = entry.size
        if range_header is None:
            return _Reply(
                200, content_type="application/octet-stream", headers=headers, file=(blob, 0, size)
            )
        spec = range_header.strip()
        if not spec.startswith("bytes=") or "," in spec:
            return _text_reply(400, f"Invalid Range header: {spec}")
        first, _, last = spec[6:].partition("-")
        try:
            if first == "":
                count = int(last)
                start, end = max(size - count, 0), size - 1
            else:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
        except ValueError:
            return _text_reply(400, f"Invalid Range header: {spec}")
        if start >= size or end < start:
            headers = {"Content-Range": f"bytes */{size}"}
            return _text_reply(416, "Requested range not satisfiable", headers)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return _Reply(
            206,
            content_type="application/octet-stream",
            headers=headers,
            file=(blob, start, end - start + 1),
        )

    def get_metadata(self, arg: Any, _body: Body | None) -> _Reply:
        path = _require(arg, "path")
        _check_read_path(path)
        try:
            md = self.store.metadata(path, bool(arg.get("include_deleted", False)))
        except WireError as exc:
            return _error_reply(tag("path", path=exc.error))
        return _json_reply(md)

    def _list_reply(self, page: tuple[list[Json], str, bool]) -> _Reply:
        entries, cursor, has_more = page
        return _json_reply({"entries": entries, "cursor": cursor, "has_more": has_more})

    def list_folder(self, arg: Any, _body: Body | None) -> _Reply:
        path = _require(arg, "path")
        _check_read_path(path, allow_root=True)
        limit = arg.get("limit")
        if limit is not None and not (isinstance(limit, int) and 1 <= limit <= 2000):
            raise BadRequest("request body: limit: value out of range 1..2000")
        try:
            page = self.store.list_folder(
                path,
                bool(arg.get("recursive", False)),
                bool(arg.get("include_deleted", False)),
                limit or self.list_page_size,
            )
        except WireError as exc:
            return _error_reply(tag("path", path=exc.error))
        return self._list_reply(page)

    def list_folder_continue(self, arg: Any, _body: Body | None) -> _Reply:
        token = _require(arg, "cursor")
        try:
            return self._list_reply(self.store.list_folder_continue(token))
        except WireError as exc:
            return _error_reply(exc.error)

    def delete(self, arg: Any, _body: Body | None) -> _Reply:
        path = _require(arg, "path")
        _check_read_path(path)
        md = self.store.delete(path, arg.get("parent_rev"))
        return _json_reply({"metadata": md})

    def delete_batch(self, arg: Any, _body: Body | None) -> _Reply:
        entries = _require(arg, "entries", list)
        if len(entries) > 1000:
            raise BadRequest("request body: entries: list has more than 1000 items")
        results: list[Json] = []
        for item in entries:
            try:
                md = self.store.delete(_require(item, "path"), item.get("parent_rev"))
                results.append({".tag": "success", "metadata": md})
            except WireError as exc:
                results.append({".tag": "failure", "failure": exc.error})
        return self._launch({".tag": "complete", "entries": results})

    def create_folder(self, arg: Any, _body: Body | None) -> _Reply:
        path = _require(arg, "path")
        try:
            folder = self.store.create_folder(path, bool(arg.get("autorename", False)))
        except WireError as exc:
            return _error_reply(tag("path", path=exc.error))
        return _json_reply({"metadata": folder.metadata(with_tag=False)})

    def move(self, arg: Any, _body: Body | None) -> _Reply:
        md = self.store.move(
            _require(arg, "from_path"), _require(arg, "to_path"), bool(arg.get("autorename"))
        )
        return _json_reply({"metadata": md})

    def list_revisions(self, arg: Any, _body: Body | None) -> _Reply:
        path = _require(arg, "path")
        limit = arg.get("limit", 10)
        if not (isinstance(limit, int) and 1 <= limit <= 100):
            raise BadRequest("request body: limit: value out of range 1..100")
        by_id = _void(arg.get("mode"), "path") == "id"
        try:
            result = self.store.list_revisions(path, by_id, limit, arg.get("before_rev"))
        except WireError as exc:
            error = (
                exc.error
                if exc.error[".tag"] == "invalid_before_rev"
                else tag("path", path=exc.error)
            )
            return _error_reply(error)
        return _json_reply(result)


Handler = Callable[[DropboxEmulator, Any, Body | None], _Reply]

# route -> (host kind, style, handler)
ROUTES: dict[str, tuple[str, Handler]] = {
    "users/get_current_account": ("rpc", DropboxEmulator.account),
    "users/get_space_usage": ("rpc", DropboxEmulator.space_usage),
    "files/upload": ("upload", DropboxEmulator.upload),
    "files/upload_session/start": ("upload", DropboxEmulator.session_start),
    "files/upload_session/append_v2": ("upload", DropboxEmulator.session_append),
    "files/upload_session/finish": ("upload", DropboxEmulator.session_finish),
    "files/upload_session/finish_batch_v2": ("rpc", DropboxEmulator.finish_batch_v2),
    "files/upload_session/finish_batch": ("rpc", DropboxEmulator.finish_batch_v1),
    "files/upload_session/finish_batch/check": ("rpc", DropboxEmulator.check_job),
    "files/download": ("download", DropboxEmulator.download),
    "files/get_metadata": ("rpc", DropboxEmulator.get_metadata),
    "files/list_folder": ("rpc", DropboxEmulator.list_folder),
    "files/list_folder/continue": ("rpc", DropboxEmulator.list_folder_continue),
    "files/delete_v2": ("rpc", DropboxEmulator.delete),
    "files/delete_batch": ("rpc", DropboxEmulator.delete_batch),
    "files/delete_batch/check": ("rpc", DropboxEmulator.check_job),
    "files/create_folder_v2": ("rpc", DropboxEmulator.create_folder),
    "files/move_v2": ("rpc", DropboxEmulator.move),
    "files/list_revisions": ("rpc", DropboxEmulator.list_revisions),
}


class _TLSServer(ThreadingHTTPServer):
    """One thread per connection; TLS handshakes happen in that thread, not in accept."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        ssl_context: ssl.SSLContext,
        emulator: DropboxEmulator,
    ) -> None:
        super().__init__(address, handler)
        self.ssl_context = ssl_context
        self.emulator = emulator
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.settimeout(30)
            # Without this, Nagle + delayed ACK add ~40 ms to every reply.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        with self._live_lock:
            self._live.add(tls)
        try:
            make_handler: Callable[[Any, Any, Any], object] = self.RequestHandlerClass
            make_handler(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with self._live_lock:
                self._live.discard(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def close_all(self) -> None:
        """Unblock every connection thread (idle keep-alives, slow replies)."""
        with self._live_lock:
            live = list(self._live)
        for sock in live:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away mid-reply is normal under fault injection


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _TLSServer
    _aborted = False

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def emu(self) -> DropboxEmulator:
        return self.server.emulator

    # -- reading -------------------------------------------------------------------

    def _length(self) -> int:
        try:
            return int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return 0

    def _read_small(self) -> bytes:
        return self.rfile.read(self._length())

    def _read_to_file(self) -> Body:
        remaining = self._length()
        path = self.emu.store.incoming_file()
        hasher = ContentHasher()
        with open(path, "wb") as fh:
            while remaining:
                piece = self.rfile.read(min(remaining, MiB))
                if not piece:
                    raise ConnectionError("client went away mid-body")
                hasher.update(piece)
                fh.write(piece)
                remaining -= len(piece)
        size = path.stat().st_size
        return Body(path, size, hasher.hexdigest())

    # -- writing -------------------------------------------------------------------

    def _abort(self) -> None:
        """Drop the connection abruptly (RST), as a flaky network would."""
        self._aborted = True
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.wfile.flush()
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()

    def _send(self, reply: _Reply, fault: str | None = None) -> None:
        if fault == "slow":
            time.sleep(self.emu.faults.slow_seconds)
        if fault == "drop_after":
            self._abort()
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(reply.length))
        self.send_header("X-Dropbox-Request-Id", secrets.token_hex(16))
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        limit = reply.length // 2 if fault == "truncate" else reply.length
        if reply.file is None:
            self.wfile.write(reply.body[:limit])
        else:
            path, offset, _length = reply.file
            with open(path, "rb") as fh:
                fh.seek(offset)
                left = limit
                while left:
                    piece = fh.read(min(left, MiB))
                    if not piece:
                        break
                    self.wfile.write(piece)
                    left -= len(piece)
            self.emu.count_download(limit)
        if fault == "truncate":
            self._abort()

    def finish(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            super().finish()

    # -- dispatch ------------------------------------------------------------------

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/oauth2/authorize":
            query = dict(urllib.parse.parse_qsl(url.query))
            self._send(self.emu.authorize_page(query))
        elif url.path == "/_emulator/stats":
            self._send(_json_reply(self.emu.stats()))
        else:
            self._send(_text_reply(404, "Not found"))

    def do_POST(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/2/"):
            self._api(url.path[3:])
        elif url.path == "/oauth2/token":
            form = dict(urllib.parse.parse_qsl(self._read_small().decode()))
            self.emu.count("oauth2/token")
            fault = self.emu.draw_fault("oauth2/token") if self.emu.faults.include_oauth else None
            if self._pre_fault(fault, "oauth2/token"):
                return
            self._send(self.emu.token(form), fault)
        elif url.path == "/oauth2/authorize":
            form = dict(urllib.parse.parse_qsl(self._read_small().decode()))
            self._send(self.emu.authorize_decision(form))
        elif url.path.startswith("/_emulator/"):
            self._control(url.path[len("/_emulator/") :], self._read_small())
        else:
            self._read_small()
            self._send(_text_reply(404, "Not found"))

    def _control(self, action: str, raw: bytes) -> None:
        emu = self.emu
        data = json.loads(raw or b"{}")
        if action == "faults":
            emu.faults.update(data)
        elif action == "quota":
            emu.quota_bytes = int(data["quota_bytes"])
        elif action == "expire-tokens":
            emu.expire_access_tokens(include_static=bool(data.get("include_static")))
        elif action == "revoke":
            emu.revoke_refresh_tokens()
        elif action == "reset-stats":
            emu.reset_stats()
        else:
            self._send(_text_reply(404, f"unknown control {action}"))
            return
        self._send(_json_reply({"faults": asdict(emu.faults), "quota_bytes": emu.quota_bytes}))

    def _pre_fault(self, fault: str | None, route: str) -> bool:
        """Answer with a fault that happens before the call takes effect."""
        retry_after = self.emu.faults.retry_after
        if fault in ("error_500", "error_503"):
            status = 500 if fault == "error_500" else 503
            self._send(
                _text_reply(
                    status, "Internal Server Error" if status == 500 else "Service Unavailable"
                )
            )
        elif fault == "rate_limit_json":
            error = {"reason": {".tag": "too_many_write_operations"}, "retry_after": retry_after}
            body = {"error_summary": "too_many_write_operations/.", "error": error}
            self._send(_json_reply(body, 429, {"Retry-After": str(retry_after)}))
        elif fault == "rate_limit_text":
            self._send(_text_reply(429, "Too Many Requests", {"Retry-After": str(retry_after)}))
        elif fault == "drop_before":
            self._abort()
        elif fault == "cursor_reset" and route == "files/list_folder/continue":
            self._send(_error_reply(tag("reset")))
        else:
            return False
        return True

    def _api(self, route: str) -> None:
        emu = self.emu
        spec = ROUTES.get(route)
        if spec is None:
            self._read_small()
            self._send(_text_reply(400, f'Unknown API function: "{route}"'))
            return
        style, handler = spec
        body: Body | None = None
        try:
            if style == "upload":
                body = self._read_to_file()
                raw = b""
            else:
                raw = self._read_small()
        except (ConnectionError, OSError):
            self._abort()
            return
        emu.count(route, uploaded=body.size if body else 0)
        emu.track(+1)
        try:
            fault = emu.draw_fault(route)
            if self._pre_fault(fault, route):
                return
            if fault == "expire_tokens":
                emu.expire_access_tokens()
            if body is not None and fault in ("corrupt_in_transit", "corrupt_stored"):
                body = _corrupt(body)
            denied = emu.check_token(self.headers.get("Authorization"), route)
            if denied is not None:
                self._send(denied)
                return
            try:
                arg = self._argument(style, raw, route)
                if fault == "corrupt_stored" and isinstance(arg, dict):
                    arg.pop("content_hash", None)  # the buggy server skips its check
                if style == "download":
                    reply = emu.download(arg, None, self.headers.get("Range"))
                else:
                    reply = handler(emu, arg, body)
            except WireError as exc:
                reply = _error_reply(exc.error)
            except BadRequest as exc:
                reply = _text_reply(400, f'Error in call to API function "{route}": {exc}')
            self._send(reply, fault)
        finally:
            emu.track(-1)
            if body is not None:
                body.path.unlink(missing_ok=True)

    def _argument(self, style: str, raw: bytes, route: str) -> Any:
        if style == "rpc":
            ctype = self.headers.get("Content-Type", "")
            if ctype.split(";")[0].strip() != "application/json":
                raise BadRequest(
                    f'Bad HTTP "Content-Type" header: "{ctype}". Expecting "application/json".'
                )
            text = raw.decode("utf-8")
        else:
            if style == "upload" and self.headers.get("Content-Type") != "application/octet-stream":
                raise BadRequest('Bad HTTP "Content-Type" header: expecting octet-stream.')
            header = self.headers.get("Dropbox-API-Arg")
            if header is None:
                raise BadRequest(
                    'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".'
                )
            text = header
        try:
            return json.loads(text)
        except ValueError:
            raise BadRequest(f"could not decode input as JSON: {text[:80]!r}") from None
