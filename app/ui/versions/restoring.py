"""Restoring from the Versions page: to the original place (asking Replace, Keep
both or Cancel when a different file is there), or directly inside a chosen folder.

A mixin of :class:`~app.ui.versions.page.VersionsPage`, kept apart so each module
has one job; the dialogs are attributes so tests can answer them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from app.core.browse import ConflictChoice, RestoreDone, RestorePlan, restored_name
from app.core.events import Progress
from app.services.browser import BrowserService
from app.services.jobs import JobOutcome, Outcome

Chosen = tuple[str, str, bool]  # path, backup id, is a folder


class RestoreFlow:
    """Needs the page's browser, status label, progress bar and Cancel button."""

    browser: BrowserService
    status: QLabel
    progress: QProgressBar
    cancel_btn: QPushButton
    ask_conflict: Callable[[RestorePlan, str], ConflictChoice]
    choose_folder: Callable[[], str]
    offer_show: Callable[[str], None]
    _restore_then_show: bool
    _waiting_note: bool

    def chosen(self) -> Chosen | None:
        raise NotImplementedError

    def _update_buttons(self) -> None:
        raise NotImplementedError

    def _say(self, text: str) -> None:
        self._waiting_note = False
        self.status.setText(text)

    # -- restoring -------------------------------------------------------------------------

    def restore_original(self) -> None:
        """Put the chosen version back at its original path (asking if something
        different is there now)."""
        chosen = self.chosen()
        if chosen is not None:
            self._restore(chosen, chosen[0], show_after=False)

    def restore_to(self) -> None:
        """Put the chosen version directly inside a folder the user picks."""
        chosen = self.chosen()
        if chosen is None:
            return
        folder = self.choose_folder()
        if not folder:
            return
        name = os.path.basename(chosen[0].rstrip("/")) or QCoreApplication.translate(
            "VersionsPage", "restored"
        )
        self._restore(chosen, os.path.join(folder, name), show_after=True)

    def _restore(self, chosen: Chosen, dest: str, *, show_after: bool) -> None:
        source, snapshot, _is_dir = chosen
        self._say(QCoreApplication.translate("VersionsPage", "Checking {dest}…").format(dest=dest))

        def planned(outcome: JobOutcome[RestorePlan]) -> None:
            if not outcome.ok:
                self._say(outcome.message)
                return
            plan = outcome.value
            if plan.identical:
                self._say(
                    QCoreApplication.translate(
                        "VersionsPage", "{dest} already is this version; nothing to do."
                    ).format(dest=dest)
                )
                return
            target = dest
            if plan.conflict:
                folder = os.path.dirname(dest)
                keep = restored_name(
                    os.path.basename(dest),
                    datetime.now().astimezone(),
                    lambda n: os.path.lexists(os.path.join(folder, n)),
                )
                choice = self.ask_conflict(plan, keep)
                if choice is ConflictChoice.CANCEL:
                    self._say(
                        QCoreApplication.translate(
                            "VersionsPage", "Restore cancelled; nothing was changed."
                        )
                    )
                    return
                if choice is ConflictChoice.KEEP_BOTH:
                    target = os.path.join(folder, keep)
            self._start_restore(source, snapshot, target, show_after)

        self.browser.plan(source, snapshot, dest, planned)

    def _start_restore(self, source: str, snapshot: str, dest: str, show_after: bool) -> None:
        if self.browser.restore(source, snapshot, dest) is None:
            self._say(
                QCoreApplication.translate(
                    "VersionsPage", "Another restore is running; try again when it has finished."
                )
            )
            return
        self._restore_then_show = show_after
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_btn.setVisible(True)
        self._say(
            QCoreApplication.translate("VersionsPage", "Restoring {name}…").format(
                name=os.path.basename(dest)
            )
        )
        self._update_buttons()

    def _restore_progress(self, progress: Progress) -> None:
        if progress.bytes_total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(progress.fraction * 1000))

    def _restore_finished(self, outcome: JobOutcome[RestoreDone]) -> None:
        self.progress.setVisible(False)
        self.cancel_btn.setVisible(False)
        self._update_buttons()
        if outcome.outcome is Outcome.CANCELLED:
            self._say(
                QCoreApplication.translate(
                    "VersionsPage", "Restore cancelled. Files already restored were kept."
                )
            )
            return
        if not outcome.ok:
            self._say(
                QCoreApplication.translate("VersionsPage", "Could not restore: {reason}").format(
                    reason=outcome.message
                )
            )
            return
        done = outcome.value
        problems = ""
        if len(done.warnings) == 1:
            problems = QCoreApplication.translate("VersionsPage", " 1 item could not be restored.")
        elif done.warnings:
            problems = QCoreApplication.translate(
                "VersionsPage", " {count} items could not be restored."
            ).format(count=f"{len(done.warnings):,}")
        self._say(
            QCoreApplication.translate("VersionsPage", "Restored to {dest}.").format(dest=done.dest)
            + problems
        )
        if self._restore_then_show:
            self.offer_show(done.dest)
