"""The preview pane: an image thumbnail, a text's first lines, or an icon and facts.

Thumbnails are decoded off the GUI thread (``QImageReader`` on a ``QThreadPool``,
scaled while reading so a 40-megapixel photo never sits in memory whole) and cached
as PNG in the vault's private cache folder, 0600. Only strings cross threads.
"""

from __future__ import annotations

import contextlib
import os

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QFont, QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QFileIconProvider,
    QLabel,
    QPlainTextEdit,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.browse import Preview, PreviewKind
from app.ui import fmt

THUMB_SIZE = 320


class _Relay(QObject):
    done = Signal(str, str)  # thumbnail path ("" if it failed), request key


def make_thumbnail(source: str, dest: str, size: int = THUMB_SIZE) -> bool:
    """Read ``source`` scaled to fit ``size`` and save it as a private PNG at ``dest``."""
    reader = QImageReader(source)
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and (full.width() > size or full.height() > size):
        reader.setScaledSize(full.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio))
    image: QImage = reader.read()
    if image.isNull():
        return False
    tmp = f"{dest}.{os.getpid()}.tmp.png"  # the suffix names the format
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    if not image.save(tmp):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    os.chmod(tmp, 0o600)
    os.replace(tmp, dest)
    return True


class _ThumbTask(QRunnable):
    def __init__(self, source: str, dest: str, key: str, relay: _Relay) -> None:
        super().__init__()
        self.source, self.dest, self.key, self.relay = source, dest, key, relay

    def run(self) -> None:
        try:
            ok = make_thumbnail(self.source, self.dest)
        except Exception:
            ok = False
        self.relay.done.emit(self.dest if ok else "", self.key)


class PreviewPane(QStackedWidget):
    """``versionsPreview``: what the selected version looks like."""

    thumbnailShown = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("versionsPreview")
        self.setMinimumHeight(160)
        self.image = QLabel()
        self.image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.image.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName(self.tr("Preview: the first lines of this version"))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.text.setFont(mono)
        self.facts = QLabel()
        self.facts.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.facts.setWordWrap(True)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        other = QWidget()
        ol = QVBoxLayout(other)
        ol.addStretch(1)
        ol.addWidget(self.icon)
        ol.addWidget(self.facts)
        ol.addStretch(1)
        for w in (self.image, self.text, other):
            self.addWidget(w)
        self._other = other
        self.kind = PreviewKind.OTHER
        self._key = ""
        self._file_icon: QIcon | None = None
        self._relay = _Relay()
        self._relay.done.connect(self._thumb_done)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.clear(self.tr("Select a file to see it as it was."))

    def clear(self, message: str = "") -> None:
        self._key = ""
        self.kind = PreviewKind.OTHER
        self.icon.clear()
        self.facts.setText(message)
        self.setCurrentWidget(self._other)

    def loading(self, name: str) -> None:
        self.clear(self.tr("Preparing a preview of {name}…").format(name=name))

    def show_preview(self, preview: Preview) -> None:
        self._key = f"{preview.path}\0{preview.snapshot}"
        self.kind = preview.kind
        if preview.kind is PreviewKind.TEXT:
            self.text.setPlainText(preview.text)
            self.setCurrentWidget(self.text)
        elif preview.kind is PreviewKind.IMAGE:
            if preview.thumbnail and os.path.exists(preview.thumbnail):
                self._thumb_done(preview.thumbnail, self._key)
            else:
                self._show_facts(preview, self.tr("Making a thumbnail…"))
                self._pool.start(
                    _ThumbTask(preview.file, preview.thumbnail, self._key, self._relay)
                )
        else:
            self._show_facts(preview)

    def _show_facts(self, preview: Preview, extra: str = "") -> None:
        if self._file_icon is None:  # made once: the provider is slow to ask
            self._file_icon = QFileIconProvider().icon(QFileIconProvider.IconType.File)
        icon = self._file_icon
        self.icon.setPixmap(icon.pixmap(QSize(48, 48)))
        name = os.path.basename(preview.path)
        lines = [f"<b>{_escape(name)}</b>", fmt.size(preview.size)]
        if preview.mtime is not None:
            lines.append(self.tr("Modified {time}").format(time=fmt.stamp(preview.mtime)))
        if extra:
            lines.append(extra)
        self.facts.setText("<br>".join(lines))
        self.setCurrentWidget(self._other)

    def _thumb_done(self, path: str, key: str) -> None:
        if key != self._key:
            return  # another version was selected meanwhile
        pixmap = QPixmap(path) if path else QPixmap()
        if pixmap.isNull():
            self.kind = PreviewKind.OTHER
            self.facts.setText(self.tr("No preview for this image."))
            self.setCurrentWidget(self._other)
            return
        self.image.setPixmap(pixmap)
        self.setCurrentWidget(self.image)
        self.thumbnailShown.emit()

    def shows_image(self) -> bool:
        pixmap = self.image.pixmap()
        return self.currentWidget() is self.image and pixmap is not None and not pixmap.isNull()

    def shutdown(self) -> None:
        self._pool.waitForDone(5000)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
