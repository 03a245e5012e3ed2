"""The Versions page's banner for backups that cannot be read (issue 11 item 4).

A damaged snapshot is left out of the timeline by the engine; without a word the
user would think that backup never happened (it may have been the newest). The
banner names it above the tree whenever the browser's vault looked and found one,
and follows every later look (after opening, a refresh, a backup or a check).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QWidget

from app.services import damage
from app.services.browser import BrowserService


class DamagedBanner(QFrame):
    def __init__(
        self,
        browser: BrowserService,
        check: Callable[[], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("versionsDamaged")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.browser = browser
        icon = QLabel()
        warning = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        icon.setPixmap(warning.pixmap(24, 24))
        self.text = QLabel("")
        self.text.setObjectName("versionsDamagedText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.check_btn = QPushButton(self.tr("Check backup…"))
        self.check_btn.setVisible(check is not None)
        if check is not None:
            self.check_btn.clicked.connect(lambda: check())
        row = QHBoxLayout(self)
        row.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)
        row.addWidget(self.check_btn, 0, Qt.AlignmentFlag.AlignTop)
        browser.damagedChanged.connect(self.update_text)
        self.update_text()

    def update_text(self) -> None:
        found = self.browser.damaged
        self.text.setText(damage.banner(found))
        self.setToolTip("\n".join(f"{d.short_id}: {d.reason}" for d in found))
        self.setVisible(bool(found))
