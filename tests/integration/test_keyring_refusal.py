"""Secrets only in a real OS keyring (issue 11 item 13; README.md, "Where things live"): the
plaintext, null and fail backends that ``keyring`` falls back to are refused, a
chain of backends never falls through to a plaintext file, and ``connect dropbox``
says so before the user signs in."""

from __future__ import annotations

import io
from argparse import Namespace
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail, null
from keyring.backends.chainer import ChainerBackend
from keyrings.alt.file import PlaintextKeyring

from app.core.errors import AppError
from app.store import secrets
from tests.memory_keyring import MemoryKeyring, memory_keyring

__all__ = ["memory_keyring"]  # a fixture, used by name

TOKEN = "sl.refresh-token-that-must-not-land-in-a-file"


@pytest.fixture
def plaintext_keyring(tmp_path: Path) -> Iterator[PlaintextKeyring]:
    """What ``keyring`` picks on a Linux desktop without Secret Service when
    ``keyrings.alt`` is installed: a base64 file in the home folder."""
    previous = keyring.get_keyring()
    ring = PlaintextKeyring()
    ring.file_path = str(tmp_path / "keyring_pass.cfg")
    keyring.set_keyring(ring)
    try:
        yield ring
    finally:
        keyring.set_keyring(previous)


def test_plaintext_keyring_is_refused(plaintext_keyring: PlaintextKeyring) -> None:
    assert not secrets.keyring_available()
    with pytest.raises(AppError, match="No secure system keyring"):
        secrets.set_secret(secrets.DROPBOX_REFRESH_TOKEN, TOKEN)
    assert not Path(plaintext_keyring.file_path).exists()
    # An entry an older version left there is not read (nor trusted) either.
    plaintext_keyring.set_password(secrets.SERVICE, "passphrase:/media/usb", "old")
    assert secrets.get_secret("passphrase:/media/usb") is None


@pytest.mark.parametrize("backend", [null.Keyring, fail.Keyring])
def test_null_and_fail_keyrings_are_refused(backend: type[KeyringBackend]) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend())
    try:
        assert not secrets.keyring_available()
        with pytest.raises(AppError, match="No secure system keyring"):
            secrets.set_secret("passphrase:x", "pw")  # null would drop it silently
    finally:
        keyring.set_keyring(previous)


def test_a_real_keyring_is_used(memory_keyring: MemoryKeyring) -> None:
    assert secrets.keyring_available()
    secrets.set_secret(secrets.DROPBOX_REFRESH_TOKEN, TOKEN)
    assert secrets.get_secret(secrets.DROPBOX_REFRESH_TOKEN) == TOKEN
    assert memory_keyring.entries[(secrets.SERVICE, secrets.DROPBOX_REFRESH_TOKEN)] == TOKEN
    secrets.delete_secret(secrets.DROPBOX_REFRESH_TOKEN)
    assert secrets.get_secret(secrets.DROPBOX_REFRESH_TOKEN) is None


def test_a_chain_uses_only_its_safe_backends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``keyring`` chains every viable backend; plaintext sorted first must not
    receive a write."""
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "keyring_pass.cfg")
    safe = MemoryKeyring()
    monkeypatch.setattr(ChainerBackend, "backends", [plain, safe])
    previous = keyring.get_keyring()
    keyring.set_keyring(ChainerBackend())  # type: ignore[no-untyped-call]
    try:
        secrets.set_secret("passphrase:/media/usb", "pw")
        assert safe.entries[(secrets.SERVICE, "passphrase:/media/usb")] == "pw"
        assert not Path(plain.file_path).exists()
        monkeypatch.setattr(ChainerBackend, "backends", [plain])
        assert not secrets.keyring_available()
    finally:
        keyring.set_keyring(previous)


def test_connect_dropbox_refuses_before_signing_in(
    plaintext_keyring: PlaintextKeyring,
) -> None:
    from app.cli_connect import run_connect

    asked: list[str] = []

    def browser(url: str) -> bool:
        asked.append(url)
        return True

    err = io.StringIO()
    status = run_connect(
        Namespace(service="dropbox"),
        open_browser=browser,
        read_code=lambda prompt: TOKEN,
        out=io.StringIO(),
        err=err,
    )
    assert status == 1
    assert "No secure system keyring" in err.getvalue()
    assert err.getvalue().count("\n") == 1
    assert asked == []  # no sign-in that could not be kept
    assert not Path(plaintext_keyring.file_path).exists()
