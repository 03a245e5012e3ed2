"""Issue 12 item 12: every control of the wizard and the main window has an accessible
name (what a screen reader says), and the wizard can be driven with the keyboard
alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QScrollBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.ui.wizard import PageId
from tests.gui.helpers import PASSPHRASE, make_app

Cleanup = list[Callable[[], object]]


def _inside_combo_box(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QComboBox):
            return True
        parent = parent.parentWidget()
    return False


def _unnamed(root: QWidget, skip: QWidget | None = None) -> list[str]:
    """Controls a keyboard can reach that a screen reader could not name."""
    missing: list[str] = []
    for widget in root.findChildren(QWidget):
        if skip is not None and (widget is skip or skip.isAncestorOf(widget)):
            continue
        if _inside_combo_box(widget):
            continue  # a combo box's own popup list: the combo box has the name
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if isinstance(widget, QScrollBar):
            continue
        parent = widget.parentWidget()
        if isinstance(widget, QLineEdit) and isinstance(parent, QAbstractSpinBox | QComboBox):
            continue  # the editor inside a spin box or combo box: the box has the name
        iface = QAccessible.queryAccessibleInterface(widget)
        name = iface.text(QAccessible.Text.Name) if iface is not None else ""
        if not name.strip():
            where = widget.objectName() or type(widget).__name__
            missing.append(f"{where} in {type(parent).__name__ if parent else '-'}")
    return missing


def test_every_wizard_and_window_control_has_an_accessible_name(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    wiz = app.show_wizard()
    app.window.show()
    # The Versions page is being rebuilt under issue 10 (its own contract names).
    missing = _unnamed(wiz) + _unnamed(app.window, skip=app.window.versions)
    assert missing == []


def test_the_wizard_can_be_driven_with_the_keyboard_alone(
    qtbot: QtBot, tmp_path: Path, cleanup: Cleanup
) -> None:
    (tmp_path / "home" / "Documents").mkdir(parents=True)
    (tmp_path / "home" / "Documents" / "a.txt").write_text("a\n")
    app = make_app(qtbot, tmp_path, cleanup, use_tray=False)
    app.start()
    wiz = app.show_wizard()
    wiz.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is not None)

    def key(k: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
        target = QApplication.focusWidget()
        assert target is not None
        QTest.keyClick(target, k, modifier)

    def tab_to(widget: QWidget) -> None:
        for _ in range(40):
            if QApplication.focusWidget() is widget:
                return
            key(Qt.Key.Key_Tab)
        raise AssertionError(f"Tab never reaches {widget.accessibleName() or widget}")

    def type_into(field: QLineEdit, text: str) -> None:
        tab_to(field)
        key(Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        QTest.keyClicks(field, text)

    key(Qt.Key.Key_Return)  # Welcome: "Back up this computer" is the default
    assert wiz.currentId() == PageId.STORAGE
    type_into(wiz.storage_page.path, str(tmp_path / "vault"))
    key(Qt.Key.Key_Return)
    assert wiz.currentId() == PageId.PASSPHRASE
    type_into(wiz.passphrase_page.fields.first, PASSPHRASE)
    type_into(wiz.passphrase_page.fields.second, PASSPHRASE)
    key(Qt.Key.Key_Return)  # Create backup
    qtbot.waitUntil(lambda: wiz.currentId() == PageId.RECOVERY, timeout=60_000)
    tab_to(wiz.recovery_page.key)  # the key itself can be reached and read out
    tab_to(wiz.recovery_page.confirm)
    key(Qt.Key.Key_Space)
    assert wiz.recovery_page.confirm.isChecked()
    key(Qt.Key.Key_Return)
    assert wiz.currentId() == PageId.FOLDERS
    assert wiz.folders_page.editor.folders() == [str(tmp_path / "home" / "Documents")]
    key(Qt.Key.Key_Return)
    assert wiz.currentId() == PageId.SCHEDULE
    key(Qt.Key.Key_Return)
    assert wiz.currentId() == PageId.DONE
    with qtbot.waitSignal(app.service.jobFinished, timeout=60_000) as blocker:
        key(Qt.Key.Key_Return)  # Finish
    assert blocker.args[0].ok
