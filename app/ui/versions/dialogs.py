"""Questions the version browser asks: what to do when a different file is in the
way, and where the restored copy went."""

from __future__ import annotations

import os

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.browse import ConflictChoice, RestorePlan


def ask_conflict(parent: QWidget, plan: RestorePlan, keep_name: str) -> ConflictChoice:
    """Replace, Keep both or Cancel: restoring never overwrites a different file silently."""
    name = os.path.basename(plan.dest)
    box = QMessageBox(parent)
    box.setObjectName("restoreConflict")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("A different version is there now")
    if plan.differing:
        box.setText(
            f"“{name}” is already in {os.path.dirname(plan.dest)}, and "
            f"{plan.differing} of its files differ from the backup."
        )
    else:
        box.setText(f"A different “{name}” is already in {os.path.dirname(plan.dest)}.")
    box.setInformativeText(
        f"Replace it with the backed-up version, or keep both (the restored copy is "
        f"named “{keep_name}”)?"
    )
    replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
    keep = box.addButton("Keep both", QMessageBox.ButtonRole.AcceptRole)
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    box.setEscapeButton(cancel)
    box.exec()
    clicked = box.clickedButton()
    if clicked is replace:
        return ConflictChoice.REPLACE
    if clicked is keep:
        return ConflictChoice.KEEP_BOTH
    return ConflictChoice.CANCEL


def offer_show(parent: QWidget, dest: str) -> None:
    """After Restore to…: say where it went, offer to open that folder."""
    box = QMessageBox(parent)
    box.setObjectName("restoreDone")
    box.setIcon(QMessageBox.Icon.Information)
    box.setWindowTitle("Restored")
    box.setText(f"“{os.path.basename(dest)}” is restored in {os.path.dirname(dest)}.")
    show = box.addButton("Show in folder", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Close)
    box.exec()
    if box.clickedButton() is show:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(dest)))
