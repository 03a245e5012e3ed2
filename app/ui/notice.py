"""Keepsake's own notification bubble, for desktops where the tray cannot show one.

Why: ``QSystemTrayIcon.showMessage`` needs a visible tray icon (and, on Linux, a
notification service behind it). GNOME without the AppIndicator extension, some
tiling window managers and a tray that is not up yet at login have none: there a
"backup failed" would be silently lost. :class:`NoticePopup` is then shown instead:
a small frameless window in the bottom-right corner of the screen (where the tray's
bubble would be), with the same icon, title and message, that closes itself after
a while and opens the page it is about when clicked, like the tray's bubble.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.ui import icons

LEVEL_PIXMAP = {
    "info": QStyle.StandardPixmap.SP_MessageBoxInformation,
    "warning": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "error": QStyle.StandardPixmap.SP_MessageBoxCritical,
}
MARGIN = 16  # from the screen's corner, clear of a panel (availableGeometry)
WIDTH = 380


class NoticePopup(QFrame):
    """One notification at a time: a new one replaces the one showing."""

    clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            parent,
            Qt.WindowType.ToolTip  # no taskbar entry, never steals the focus
            | Qt.WindowType.FramelessWindowHint
            | Qt.WindowType.WindowStaysOnTopHint,
        )
        self.setObjectName("noticePopup")
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(WIDTH)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setStyleSheet(
            "#noticePopup { background: palette(window); border: 1px solid palette(mid);"
            " border-radius: 8px; }"
        )
        self.app = QLabel()
        self.app.setPixmap(icons.app_icon().pixmap(16, 16))
        self.app_name = QLabel(self.tr("Keepsake"))
        self.app_name.setEnabled(False)  # the greyed caption of a desktop notification
        self.close_btn = QToolButton()
        self.close_btn.setText("×")
        self.close_btn.setAutoRaise(True)
        self.close_btn.setAccessibleName(self.tr("Close notification"))
        self.close_btn.clicked.connect(self.hide)
        self.level = QLabel()
        self.title = QLabel()
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        self.message = QLabel()
        self.message.setWordWrap(True)
        head = QHBoxLayout()
        head.setSpacing(6)
        head.addWidget(self.app)
        head.addWidget(self.app_name, 1)
        head.addWidget(self.close_btn)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.message)
        text.addStretch(1)
        body = QHBoxLayout()
        body.setSpacing(12)
        body.addWidget(self.level, 0, Qt.AlignmentFlag.AlignTop)
        body.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 8, 8, 14)
        layout.addLayout(head)
        layout.addLayout(body)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.hide)

    def show_notice(self, title: str, message: str, level: str = "info", ms: int = 10_000) -> None:
        """Fill in and show it in the screen's corner for ``ms`` milliseconds."""
        pixmap = LEVEL_PIXMAP.get(level, LEVEL_PIXMAP["info"])
        self.level.setPixmap(self.style().standardIcon(pixmap).pixmap(32, 32))
        self.title.setText(title)
        self.message.setText(message)
        self.setAccessibleName(f"{title}. {message}")
        layout = self.layout()
        if layout is not None:
            layout.activate()  # the new texts' sizes, before asking for the height
        height = self.heightForWidth(WIDTH)  # wrapped text: the height its width needs
        self.resize(WIDTH, height if height > 0 else self.sizeHint().height())
        self.move(self._corner())
        self.show()
        self.raise_()
        self.timer.start(ms)

    def _corner(self) -> QPoint:
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return QPoint(0, 0)
        area = screen.availableGeometry()
        return QPoint(area.right() - self.width() - MARGIN, area.bottom() - self.height() - MARGIN)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        """A click anywhere but the close button opens what it is about."""
        if event.button() == Qt.MouseButton.LeftButton:
            self.hide()
            self.clicked.emit()
        super().mouseReleaseEvent(event)
