"""``keepsake screenshots DIR`` renders every page against a demo vault."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

EXPECTED = {
    "wizard-1-welcome",
    "wizard-2-storage",
    "wizard-3-passphrase",
    "wizard-4-recovery-key",
    "wizard-5-folders",
    "wizard-6-schedule",
    "wizard-7-done",
    "wizard-restore-unlock",
    "overview-idle",
    "overview-backing-up",
    "folders",
    "versions",
    "settings",
    "activity",
    "tray-menu",
    "tray-icons",
}


def test_render_screenshots(qtbot: QtBot, tmp_path: Path) -> None:
    from app.main import render_screenshots

    out = tmp_path / "shots"
    assert render_screenshots(str(out)) == 0
    assert {p.stem for p in out.glob("*.png")} == EXPECTED
    for png in out.glob("*.png"):
        image = QImage(str(png))
        assert not image.isNull() and image.width() >= 100, png.name
