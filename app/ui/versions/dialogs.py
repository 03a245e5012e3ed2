"""Questions the version browser asks: what to do when a different file is in the
way, and where the restored copy went."""

from __future__ import annotations

import os

from PySide6.QtCore import QCoreApplication, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.browse import ConflictChoice, RestorePlan


def ask_conflict(parent: QWidget, plan: RestorePlan, keep_name: str) -> ConflictChoice:
    """Replace, Keep both or Cancel: restoring never overwrites a different file silently."""
    name = os.path.basename(plan.dest)
    box = QMessageBox(parent)
    box.setObjectName("restoreConflict")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(
        QCoreApplication.translate("VersionsDialogs", "A different version is there now")
    )
    if plan.differing:
        box.setText(
            QCoreApplication.translate(
                "VersionsDialogs",
                "“{name}” is already in {folder}, and {count} of its files differ from the backup.",
            ).format(name=name, folder=os.path.dirname(plan.dest), count=plan.differing)
        )
    else:
        box.setText(
            QCoreApplication.translate(
                "VersionsDialogs", "A different “{name}” is already in {folder}."
            ).format(name=name, folder=os.path.dirname(plan.dest))
        )
    box.setInformativeText(
        QCoreApplication.translate(
            "VersionsDialogs",
            "Replace it with the backed-up version, or keep both (the restored copy is "
            "named “{keep}”)?",
        ).format(keep=keep_name)
    )
    replace = box.addButton(
        QCoreApplication.translate("VersionsDialogs", "Replace"),
        QMessageBox.ButtonRole.DestructiveRole,
    )
    keep = box.addButton(
        QCoreApplication.translate("VersionsDialogs", "Keep both"),
        QMessageBox.ButtonRole.AcceptRole,
    )
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
    box.setWindowTitle(QCoreApplication.translate("VersionsDialogs", "Restored"))
    box.setText(
        QCoreApplication.translate("VersionsDialogs", "“{name}” is restored in {folder}.").format(
            name=os.path.basename(dest), folder=os.path.dirname(dest)
        )
    )
    show = box.addButton(
        QCoreApplication.translate("VersionsDialogs", "Show in folder"),
        QMessageBox.ButtonRole.AcceptRole,
    )
    box.addButton(QMessageBox.StandardButton.Close)
    box.exec()
    if box.clickedButton() is show:
        QDesktopServices.openUrl(QUrl.fromLocalFile(os.path.dirname(dest)))
