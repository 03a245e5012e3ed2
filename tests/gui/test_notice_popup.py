"""Issue 12 item 11: without a visible tray (GNOME without the AppIndicator extension,
a tray not up yet), notifications used to be dropped silently. Keepsake's own bubble
shows them instead, in the screen's corner, and a click opens the page it is about."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from tests.gui.helpers import drive_wizard, finish, make_app

Cleanup = list[Callable[[], object]]


def test_without_a_tray_the_first_backup_and_a_failure_show_our_bubble(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    src = tmp_path / "home" / "Documents"
    src.mkdir(parents=True)
    (src / "a.txt").write_text("a\n")
    app = make_app(qtbot, tmp_path, cleanup)  # a tray, but offscreen it cannot show
    tray = app.tray
    assert tray is not None and not tray.icon.isVisible()
    app.start()
    wiz = drive_wizard(qtbot, app, tmp_path / "vault", [src])
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        finish(wiz)
    popup = tray.popup
    assert popup.isVisible()
    assert popup.title.text() == "Your first backup is complete"
    assert "automatically" in popup.message.text()
    screen = QGuiApplication.primaryScreen()
    assert screen is not None
    area = screen.availableGeometry()
    assert area.contains(popup.geometry())  # on screen, in the bottom-right corner
    assert popup.geometry().right() > area.center().x()
    assert popup.geometry().bottom() > area.center().y()

    # The drive goes away: the failure, with its reason, replaces the bubble.
    shutil.move(tmp_path / "vault", tmp_path / "unplugged")
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000):
        app.service.back_up_now()
    assert popup.isVisible() and popup.title.text() == "Backup location not found"
    assert str(tmp_path / "vault") in popup.message.text()

    app.window.show_page("Settings")
    with qtbot.waitSignal(tray.pageRequested, timeout=5_000) as clicked:
        QTest.mouseClick(popup.message, Qt.MouseButton.LeftButton)
    assert clicked.args == ["Overview"]
    assert not popup.isVisible()
    assert app.window.PAGES[app.window.sidebar.currentRow()] == "Overview"
