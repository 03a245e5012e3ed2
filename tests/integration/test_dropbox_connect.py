"""Connecting Dropbox end to end: PKCE against the emulator's authorize page and
token endpoint, the refresh token landing in a keyring backend (in memory, through
the ``keyring`` package's API), then a vault opened with nothing but that entry."""

from __future__ import annotations

import io
import re
import urllib.parse
from argparse import Namespace

import pytest

from app.core.errors import AuthRequiredError
from app.storage.dropbox.auth import account_email, finish_connect, start_connect
from app.storage.dropbox.config import DropboxCredentials
from app.storage.factory import open_storage
from app.store.secrets import get_secret
from tests.dropbox_emulator import DropboxEmulator
from tests.dropbox_emulator.helpers import approve_in_browser, emulator_endpoints
from tests.memory_keyring import MemoryKeyring, memory_keyring

pytest_plugins = ["tests.dropbox_conftest"]
__all__ = ["memory_keyring"]  # a fixture, used by name


@pytest.fixture
def file_keyring(memory_keyring: MemoryKeyring) -> MemoryKeyring:
    """The process's keyring for this test (the name predates the in-memory one)."""
    return memory_keyring


def test_connect_command_stores_the_refresh_token_in_the_keyring(
    dropbox_emulator: DropboxEmulator,
    dropbox_env: dict[str, str],
    file_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.cli_connect import run_connect

    monkeypatch.delenv("KEEPSAKE_DROPBOX_ACCESS_TOKEN")  # a real sign-in, not the env token
    opened: list[str] = []

    def browser(url: str) -> bool:
        opened.append(url)
        return True

    def user_pastes_code(prompt: str) -> str:
        return approve_in_browser(opened[0], dropbox_emulator.ca_path) + "\n"

    out, err = io.StringIO(), io.StringIO()
    status = run_connect(
        Namespace(service="dropbox"),
        open_browser=browser,
        read_code=user_pastes_code,
        out=out,
        err=err,
    )
    assert status == 0, err.getvalue()

    url = urllib.parse.urlsplit(opened[0])
    query = dict(urllib.parse.parse_qsl(url.query))
    assert url.netloc == dropbox_emulator.address and url.path == "/oauth2/authorize"
    assert query["client_id"] == dropbox_emulator.app_key
    assert query["token_access_type"] == "offline"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert opened[0] in out.getvalue()

    refresh = file_keyring.get_password("keepsake", "dropbox-refresh-token")
    assert refresh and refresh in dropbox_emulator._refresh_tokens
    assert file_keyring.get_password("keepsake", "dropbox-app-key") == dropbox_emulator.app_key
    assert get_secret("dropbox-refresh-token") == refresh  # as the app reads it
    assert refresh not in out.getvalue() + err.getvalue()  # never printed

    # The vault now opens with only the keyring: the SDK refreshes an access token.
    storage = open_storage("dropbox:Family", secret_lookup=get_secret)
    try:
        storage.put("config", b"sealed")
        assert storage.get("config") == b"sealed"
    finally:
        storage.close()
    assert dropbox_emulator.stats()["calls"]["oauth2/token"] == 2  # code exchange + refresh


def test_cli_connect_dropbox_reads_the_pasted_code(
    dropbox_emulator: DropboxEmulator,
    dropbox_env: dict[str, str],
    file_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``keepsake connect dropbox`` with no browser (no DISPLAY): the user copies the URL."""
    from app.cli import main

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)

    def user(prompt: str) -> str:
        url = re.search(r"https://\S+/oauth2/authorize\S+", capsys.readouterr().out)
        assert url, "the URL must be printed"
        return approve_in_browser(url.group(0), dropbox_emulator.ca_path)

    monkeypatch.setattr("builtins.input", user)
    assert main(["connect", "dropbox"]) == 0
    assert file_keyring.get_password("keepsake", "dropbox-refresh-token")


def test_pkce_verifier_must_match(dropbox_emulator: DropboxEmulator) -> None:
    endpoints = emulator_endpoints(dropbox_emulator)
    ca = str(dropbox_emulator.ca_path)
    first = start_connect(dropbox_emulator.app_key, endpoints=endpoints, ca_bundle=ca)
    second = start_connect(dropbox_emulator.app_key, endpoints=endpoints, ca_bundle=ca)
    code = approve_in_browser(first.authorize_url, dropbox_emulator.ca_path)
    with pytest.raises(AuthRequiredError, match="did not accept"):
        second.finish(code)  # another attempt's verifier
    # The emulator burnt the code, as Dropbox does: it works once only.
    with pytest.raises(AuthRequiredError):
        first.finish(code)
    code = approve_in_browser(first.authorize_url, dropbox_emulator.ca_path)
    tokens = finish_connect(first, code)
    assert tokens.refresh_token not in repr(tokens)
    assert tokens.expires_at is not None and tokens.expires_at.tzinfo is not None
    creds = DropboxCredentials(refresh_token=tokens.refresh_token, app_key=tokens.app_key)
    assert account_email(creds, endpoints=endpoints, ca_bundle=ca) == "ann@example.com"


def test_connect_failures_exit_1_with_one_clear_line(
    dropbox_emulator: DropboxEmulator, dropbox_env: dict[str, str], file_keyring: MemoryKeyring
) -> None:
    from app.cli_connect import run_connect

    err = io.StringIO()
    status = run_connect(
        Namespace(service="dropbox"),
        open_browser=lambda _url: False,
        read_code=lambda _prompt: "not-a-real-code",
        out=io.StringIO(),
        err=err,
    )
    assert status == 1
    assert err.getvalue().count("\n") == 1 and "did not accept" in err.getvalue()
    assert file_keyring.get_password("keepsake", "dropbox-refresh-token") is None

    def cancel(_prompt: str) -> str:
        raise EOFError

    status = run_connect(
        Namespace(service="dropbox"),
        open_browser=lambda _u: False,
        read_code=cancel,
        out=io.StringIO(),
        err=err,
    )
    assert status == 1 and "cancelled" in err.getvalue()
