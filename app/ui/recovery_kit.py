"""The Emergency recovery kit: a one-page PDF to print and keep somewhere safe.

It holds the recovery key, where the vault lives, and the steps to get everything
back on a new computer. Drawn with QPdfWriter + QPainter (no extra dependency).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QCoreApplication, QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen


def steps() -> tuple[str, ...]:
    """The steps printed on the kit, in the user's language."""
    return (
        QCoreApplication.translate(
            "RecoveryKit", "Install Keepsake on the new computer and open it."
        ),
        QCoreApplication.translate(
            "RecoveryKit", 'In the first-run window choose "Restore from an existing backup".'
        ),
        QCoreApplication.translate(
            "RecoveryKit",
            "Choose the same storage: {where}. For Dropbox, sign in to the same account.",
        ),
        QCoreApplication.translate(
            "RecoveryKit",
            "Type your passphrase. If you forgot it, choose \u201cUse the recovery key\u201d and "
            "type the key printed on this page.",
        ),
        QCoreApplication.translate(
            "RecoveryKit",
            "Keepsake restores your files to their original places, or browse Versions to pick "
            "single files and folders.",
        ),
    )


def write_recovery_kit(
    path: str,
    *,
    recovery_key: str,
    where: str,
    vault_id: str,
    created: datetime | None = None,
) -> None:
    """Write the kit to ``path``. Raises OSError if the file cannot be written."""
    writer = QPdfWriter(path)
    writer.setTitle(QCoreApplication.translate("RecoveryKit", "Keepsake emergency recovery kit"))
    writer.setCreator("Keepsake")
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(18, 18, 18, 18),
            QPageLayout.Unit.Millimeter,
        )
    )
    writer.setResolution(300)
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(
            QCoreApplication.translate("RecoveryKit", "Could not write {path}").format(path=path)
        )
    try:
        _draw(painter, writer, recovery_key, where, vault_id, created or datetime.now())
    finally:
        painter.end()


def _draw(
    p: QPainter,
    writer: QPdfWriter,
    recovery_key: str,
    where: str,
    vault_id: str,
    created: datetime,
) -> None:
    page = writer.pageLayout().paintRectPixels(writer.resolution())
    width = float(page.width())
    dpi = writer.resolution()

    def pt(points: float) -> float:  # points -> device pixels
        return points * dpi / 72.0

    def font(size: float, bold: bool = False, mono: bool = False) -> QFont:
        f = QFont("Monospace" if mono else "Sans Serif")
        if mono:
            f.setStyleHint(QFont.StyleHint.TypeWriter)
        f.setPointSizeF(size)
        f.setBold(bold)
        return f

    y = 0.0

    def text(s: str, f: QFont, gap: float = 6, flags: int = 0) -> None:
        nonlocal y
        p.setFont(f)
        rect = QRectF(0, y, width, page.height() - y)
        bound = p.boundingRect(rect, int(Qt.TextFlag.TextWordWrap) | flags, s)
        p.drawText(rect, int(Qt.TextFlag.TextWordWrap) | flags, s)
        y += bound.height() + pt(gap)

    p.setPen(QColor("#000000"))
    text(
        QCoreApplication.translate("RecoveryKit", "Keepsake \u2014 Emergency recovery kit"),
        font(22, bold=True),
        4,
    )
    text(
        QCoreApplication.translate(
            "RecoveryKit",
            "Made on {date}. Print this page and keep it somewhere safe, away "
            "from this computer. Anyone with this key and access to your storage can read "
            "your backups.",
        ).format(date=f"{created:%d %B %Y}"),
        font(10.5),
        14,
    )
    text(QCoreApplication.translate("RecoveryKit", "Your recovery key"), font(13, bold=True), 4)
    box_top = y
    y += pt(10)
    p.save()
    p.translate(pt(12), 0)
    width -= pt(24)
    text(recovery_key, font(15, bold=True, mono=True), 6)
    width += pt(24)
    p.restore()
    y += pt(4)
    pen = QPen(QColor("#000000"))
    pen.setWidthF(pt(1.2))
    p.setPen(pen)
    p.drawRoundedRect(QRectF(0, box_top, width, y - box_top), pt(6), pt(6))
    p.setPen(QColor("#000000"))
    y += pt(16)
    text(
        QCoreApplication.translate("RecoveryKit", "Where your backup lives"), font(13, bold=True), 4
    )
    text(where, font(11), 2)
    vault_line = QCoreApplication.translate("RecoveryKit", "Vault id: {id}").format(id=vault_id)
    text(vault_line, font(9, mono=True), 16)
    text(
        QCoreApplication.translate("RecoveryKit", "To get your files back on a new computer"),
        font(13, bold=True),
        6,
    )
    for i, step in enumerate(steps(), 1):
        text(f"{i}.  {step.format(where=where)}", font(11), 5)
    y += pt(10)
    text(
        QCoreApplication.translate(
            "RecoveryKit",
            "Keepsake never knows your passphrase or this key: if both are lost, nobody can "
            "open the backup, including us.",
        ),
        font(10, bold=True),
        4,
    )
