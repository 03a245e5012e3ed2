"""``keepsake connect dropbox``: link a Dropbox account from a terminal.

Prints the authorize URL, opens a browser when one can be shown, reads the code the
user pastes, and stores the refresh token (and the app key that issued it, since a
refresh token only works with that key) in the OS keyring. Tokens are never printed
or logged. The desktop wizard uses the same ``app.storage.dropbox.auth`` functions.
"""

from __future__ import annotations

import argparse
import os
import sys
import webbrowser
from collections.abc import Callable
from typing import TextIO

from app.core.errors import AppError
from app.storage.dropbox.auth import start_connect
from app.storage.dropbox.config import (
    APP_KEY_SECRET,
    DEFAULT_APP_KEY,
    ENV_APP_KEY,
    ENV_CA_BUNDLE,
    REFRESH_TOKEN_SECRET,
    DropboxEndpoints,
)


def _can_open_browser() -> bool:
    """Only try a browser where a graphical one can appear (not over SSH on Linux,
    where ``webbrowser`` might start a text browser inside this terminal)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _default_open_browser(url: str) -> bool:
    if not _can_open_browser():
        return False
    try:
        return bool(webbrowser.open(url, new=2))
    except webbrowser.Error:
        return False


def _app_key(args: argparse.Namespace) -> str:
    key = getattr(args, "app_key", None) or os.environ.get(ENV_APP_KEY)
    if key:
        return str(key)
    try:
        from app.core.paths import config_dir
        from app.store.settings import SettingsStore

        configured = SettingsStore(config_dir()).load().dropbox_app_key
    except Exception:  # settings are optional for the CLI
        configured = ""
    return str(configured or DEFAULT_APP_KEY)


def run_connect(
    args: argparse.Namespace,
    *,
    open_browser: Callable[[str], bool] | None = None,
    read_code: Callable[[str], str] | None = None,
    store_secret: Callable[[str, str], None] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the connect flow; returns the exit status (0 connected, 1 failed).

    The keyword arguments exist for tests (a scripted "browser" and code reader);
    by default the real browser, ``input`` and the keyring are used.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    service = getattr(args, "service", "dropbox")
    if service != "dropbox":
        print(f"keepsake: cannot connect {service!r}; only dropbox is supported", file=err)
        return 2
    if store_secret is None:
        from app.store.secrets import NO_KEYRING_ADVICE, keyring_available, set_secret

        if not keyring_available():  # say so before the user signs in for nothing
            print(f"keepsake: {NO_KEYRING_ADVICE}", file=err)
            return 1
        store_secret = set_secret
    try:
        flow = start_connect(
            _app_key(args),
            endpoints=DropboxEndpoints.from_env(),
            ca_bundle=os.environ.get(ENV_CA_BUNDLE) or None,
        )
        print("To connect Keepsake to your Dropbox:", file=out)
        print("  1. Open this page and sign in to Dropbox:", file=out)
        print(f"     {flow.authorize_url}", file=out)
        print("  2. Click Allow, then copy the code Dropbox shows.", file=out)
        opener = open_browser or _default_open_browser
        if opener(flow.authorize_url):
            print("(The page was opened in your browser.)", file=out)
        out.flush()
        reader = read_code or input
        code = reader("  3. Paste the code here: ")
        tokens = flow.finish(code)
        store_secret(REFRESH_TOKEN_SECRET, tokens.refresh_token)
        store_secret(APP_KEY_SECRET, tokens.app_key)
    except (EOFError, KeyboardInterrupt):
        print("\nkeepsake: connecting was cancelled", file=err)
        return 1
    except AppError as exc:
        print(f"keepsake: {exc.message}", file=err)
        return 1
    print("Connected. Keepsake keeps the Dropbox sign-in in the system keyring.", file=out)
    print("Use --repo dropbox:NAME to back up into the vault NAME in Apps/Keepsake.", file=out)
    return 0
