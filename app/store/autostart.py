"""Start Keepsake at login: a Linux autostart .desktop file, a Windows Run key, or a
macOS LaunchAgent. ``home`` is injectable so tests never touch the real session.
"""

from __future__ import annotations

import contextlib
import logging
import os
import plistlib
import shlex
import sys
from pathlib import Path

log = logging.getLogger(__name__)

ENTRY_NAME = "keepsake"
_DESKTOP = """[Desktop Entry]
Type=Application
Name=Keepsake
Comment=Encrypted backups of your photos and documents
Exec={exec_line}
Icon=keepsake
Terminal=false
X-GNOME-Autostart-enabled=true
"""


def launch_command() -> list[str]:
    """How to start the desktop app minimized to the tray."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "gui", "--minimized"]
    return [sys.executable, "-m", "app", "gui", "--minimized"]


def _linux_path(home: Path) -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") if home == Path.home() else None
    return Path(base or home / ".config") / "autostart" / f"{ENTRY_NAME}.desktop"


def _mac_path(home: Path) -> Path:
    return home / "Library" / "LaunchAgents" / "app.keepsake.plist"


def is_enabled(home: Path | None = None, platform: str = sys.platform) -> bool:
    home = home or Path.home()
    if platform.startswith("win"):
        return _win_get() is not None
    if platform == "darwin":
        return _mac_path(home).exists()
    return _linux_path(home).exists()


def set_enabled(
    enabled: bool,
    home: Path | None = None,
    platform: str = sys.platform,
    command: list[str] | None = None,
) -> None:
    """Create or remove the login entry. Raises OSError if that is not possible."""
    home = home or Path.home()
    command = command or launch_command()
    if platform.startswith("win"):
        _win_set(command if enabled else None)
        return
    path = _mac_path(home) if platform == "darwin" else _linux_path(home)
    if not enabled:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if platform == "darwin":
        data = {"Label": "app.keepsake", "ProgramArguments": command, "RunAtLoad": True}
        path.write_bytes(plistlib.dumps(data))
    else:
        path.write_text(_DESKTOP.format(exec_line=shlex.join(command)), encoding="utf-8")


_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"


def _win_get() -> str | None:  # pragma: no cover - Windows only
    try:
        import winreg

        with winreg.OpenKey(winreg.HKEY_CURRENT_USER, _RUN_KEY) as key:  # type: ignore[attr-defined,unused-ignore]
            value, _ = winreg.QueryValueEx(key, "Keepsake")  # type: ignore[attr-defined,unused-ignore]
            return str(value)
    except (ImportError, OSError):
        return None


def _win_set(command: list[str] | None) -> None:  # pragma: no cover - Windows only
    import subprocess
    import winreg

    with winreg.OpenKey(  # type: ignore[attr-defined,unused-ignore]
        winreg.HKEY_CURRENT_USER,  # type: ignore[attr-defined,unused-ignore]
        _RUN_KEY,
        0,
        winreg.KEY_SET_VALUE,  # type: ignore[attr-defined,unused-ignore]
    ) as key:
        if command is None:
            with contextlib.suppress(FileNotFoundError):
                winreg.DeleteValue(key, "Keepsake")  # type: ignore[attr-defined,unused-ignore]
        else:
            winreg.SetValueEx(  # type: ignore[attr-defined,unused-ignore]
                key,
                "Keepsake",
                0,
                winreg.REG_SZ,  # type: ignore[attr-defined,unused-ignore]
                subprocess.list2cmdline(command),
            )
