"""Client-side helpers for tests: a ``DropboxStorage`` pointed at an emulator."""

from __future__ import annotations

import re
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import requests

from app.storage.dropbox.config import DropboxCredentials, DropboxEndpoints
from app.storage.dropbox.storage import DropboxStorage
from tests.dropbox_emulator.server import DropboxEmulator


def emulator_endpoints(emulator: DropboxEmulator) -> DropboxEndpoints:
    return DropboxEndpoints(emulator.address, emulator.address, emulator.address)


def storage_on(emulator: DropboxEmulator, vault: str = "Vault", **overrides: Any) -> DropboxStorage:
    """A DropboxStorage on ``emulator`` using its static token, with fast test defaults
    (no real sleeps between retries, a 10 s timeout)."""
    options: dict[str, Any] = {
        "credentials": DropboxCredentials(access_token=emulator.static_token),
        "endpoints": emulator_endpoints(emulator),
        "ca_bundle": str(emulator.ca_path),
        "sleep": lambda _s: None,
        "timeout": 10.0,
    }
    options.update(overrides)
    return DropboxStorage(vault, **options)


class _Form(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and a.get("name"):
            self.fields[str(a["name"])] = a.get("value") or ""


def approve_in_browser(url: str, ca_path: Path) -> str:
    """What the user does: open the page, click Allow, read the code off the page."""
    with requests.Session() as browser:
        browser.trust_env = False
        page = browser.get(url, verify=str(ca_path), timeout=10)
        page.raise_for_status()
        form = _Form()
        form.feed(page.text)
        action = urllib.parse.urljoin(url, "/oauth2/authorize")
        done = browser.post(
            action, data={**form.fields, "decision": "allow"}, verify=str(ca_path), timeout=10
        )
        done.raise_for_status()
    match = re.search(r'id="code" readonly value="([^"]+)"', done.text)
    assert match, done.text
    return match.group(1)
