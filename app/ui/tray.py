"""The tray icon: state at a glance, a menu rebuilt each time it opens, notifications."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from app.services import damage
from app.services.backups import BackupService, State, Status
from app.ui import fmt, icons
from app.ui.notice import NoticePopup

LEVEL_ICON = {
    "info": QSystemTrayIcon.MessageIcon.Information,
    "warning": QSystemTrayIcon.MessageIcon.Warning,
    "error": QSystemTrayIcon.MessageIcon.Critical,
}


class Tray(QObject):
    """Owns the QSystemTrayIcon; ``openRequested``/``quitRequested`` go to the app."""

    openRequested = Signal()
    pageRequested = Signal(str)  # a notification was clicked: open this page
    quitRequested = Signal()

    def __init__(self, service: BackupService, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.icon = QSystemTrayIcon(icons.state_icon(State.NOT_SET_UP), self)
        self.menu = QMenu()
        self.menu.aboutToShow.connect(self.build_menu)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self._message_clicked)
        self.last_notification: tuple[str, str, str, str] | None = None
        # Without a visible tray (or its notifications) our own bubble says it.
        self.popup = NoticePopup()
        self.popup.clicked.connect(self._message_clicked)
        self._click_page = "Overview"
        self.state: State = State.NOT_SET_UP
        self.icon_name = icons.TRAY_FILE[State.NOT_SET_UP]
        service.statusChanged.connect(self.show_status)
        service.notify.connect(self.notify)
        self.show_status(service.status())
        self.build_menu()

    @staticmethod
    def available() -> bool:
        return QSystemTrayIcon.isSystemTrayAvailable()

    def show(self) -> None:
        self.icon.show()

    def hide(self) -> None:
        self.icon.hide()
        self.popup.hide()

    def show_status(self, status: Status) -> None:
        name = icons.status_icon_name(status)
        if name != self.icon_name:
            self.icon.setIcon(icons.tray_icon(name))
            self.icon_name = name
        self.state = status.state
        tip = self.tr("Keepsake: {headline}").format(headline=status.headline)
        if status.state is State.UP_TO_DATE and status.last_success is not None:
            tip += "\n" + self._last_backup(status)
        elif status.detail:
            tip += f"\n{status.detail}"
        if status.damaged and damage.summary(status.damaged) not in tip:
            tip += f"\n{damage.summary(status.damaged)}"
        self.icon.setToolTip(tip)

    def _last_backup(self, status: Status) -> str:
        when = fmt.when(status.last_success.finished if status.last_success else None)
        return self.tr("Last backup {when}").format(when=when)

    def tooltip(self) -> str:
        return self.icon.toolTip()

    def build_menu(self) -> None:
        """Rebuilt on every open, so it always says what is true now."""
        self.menu.clear()
        status = self.service.status()
        header = QAction(status.headline, self.menu)
        header.setEnabled(False)
        header.setIcon(icons.status_icon(status))
        self.menu.addAction(header)
        if status.detail and status.state in (State.ERROR, State.WARNING):
            detail = QAction(
                self.menu.fontMetrics().elidedText(status.detail, Qt.TextElideMode.ElideRight, 320),
                self.menu,
            )
            detail.setEnabled(False)
            self.menu.addAction(detail)
        if status.damaged and status.detail != damage.summary(status.damaged):
            damaged = QAction(
                self.menu.fontMetrics().elidedText(
                    damage.summary(status.damaged), Qt.TextElideMode.ElideRight, 320
                ),
                self.menu,
            )
            damaged.setEnabled(False)
            self.menu.addAction(damaged)
        if status.last_success is not None and status.state is not State.RUNNING:
            last = QAction(self._last_backup(status), self.menu)
            last.setEnabled(False)
            self.menu.addAction(last)
        self.menu.addSeparator()
        now = self.menu.addAction(self.tr("Back up now"))
        now.setEnabled(status.state not in (State.RUNNING, State.NOT_SET_UP, State.PAUSED))
        now.triggered.connect(self.service.back_up_now)
        if status.state is State.PAUSED:
            self.menu.addAction(self.tr("Resume")).triggered.connect(self.service.resume)
        else:
            pause = self.menu.addAction(self.tr("Pause for 1 hour"))
            pause.setEnabled(status.state is not State.NOT_SET_UP)
            pause.triggered.connect(lambda: self.service.pause(timedelta(hours=1)))
        self.menu.addSeparator()
        self.menu.addAction(self.tr("Open Keepsake")).triggered.connect(self.openRequested)
        self.menu.addAction(self.tr("Quit")).triggered.connect(self.quitRequested)

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.openRequested.emit()

    def notify(self, title: str, message: str, level: str = "info", page: str = "") -> None:
        """Show a desktop notification; clicking it opens ``page`` in the window."""
        self.last_notification = (title, message, level, page)
        self._click_page = page or "Overview"
        if self.icon.isVisible() and QSystemTrayIcon.supportsMessages():
            self.icon.showMessage(title, message, LEVEL_ICON.get(level, LEVEL_ICON["info"]), 10_000)
        else:
            self.popup.show_notice(title, message, level)

    def _message_clicked(self) -> None:
        self.pageRequested.emit(self._click_page)
