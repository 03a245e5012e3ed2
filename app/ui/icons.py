"""App and tray icons, loaded from package data so installed builds find them."""

from __future__ import annotations

from functools import cache
from importlib import resources

from PySide6.QtGui import QIcon, QPixmap

from app.services.backups import State, Status
from app.services.jobs import JobKind

APP_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
TRAY_SIZES = (16, 22, 24, 32, 48, 64)

TRAY_FILE = {
    State.NOT_SET_UP: "warning",
    State.UP_TO_DATE: "ok",
    State.RUNNING: "running",
    State.PAUSED: "paused",
    State.WARNING: "warning",
    State.ERROR: "error",
}


def _pixmap(name: str) -> QPixmap:
    data = resources.files("app").joinpath("resources", "icons", name).read_bytes()
    pm = QPixmap()
    pm.loadFromData(data, "PNG")
    return pm


@cache
def app_icon() -> QIcon:
    icon = QIcon()
    for size in APP_SIZES:
        icon.addPixmap(_pixmap(f"keepsake-{size}.png"))
    return icon


@cache
def tray_icon(name: str) -> QIcon:
    icon = QIcon()
    for size in TRAY_SIZES:
        icon.addPixmap(_pixmap(f"tray-{name}-{size}.png"))
    return icon


def state_icon(state: State) -> QIcon:
    return tray_icon(TRAY_FILE[state])


def status_icon_name(status: Status) -> str:
    """The tray icon's file name for ``status``: a restore shows files coming down,
    not the backup's upload arrow."""
    if status.job is JobKind.RESTORE and status.state in (State.RUNNING,):
        return "restoring"
    return TRAY_FILE[status.state]


def status_icon(status: Status) -> QIcon:
    return tray_icon(status_icon_name(status))
