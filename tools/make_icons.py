"""Generate Keepsake's icons: SVG sources and PNG renders (QtSvg + QPainter).

Writes the app icon (SVG + PNG 16..512) and the tray state icons to
``resources/icons/`` (for installers and the .desktop file) and the same set to
``app/resources/icons/`` (package data the running app loads). Run it after
editing a shape:  ``.venv/bin/python tools/make_icons.py``.

Tray icons are a coloured disc with a white glyph and a thin dark rim, so each
state reads on light and on dark panels alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT_DIRS = (ROOT / "resources" / "icons", ROOT / "app" / "resources" / "icons")
APP_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
TRAY_SIZES = (16, 22, 24, 32, 48, 64)

APP_SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">
  <defs>
    <linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">
      <stop offset="0" stop-color="#2f9e8f"/>
      <stop offset="1" stop-color="#1d6f80"/>
    </linearGradient>
  </defs>
  <rect x="2" y="2" width="60" height="60" rx="14" fill="url(#bg)"/>
  <rect x="2.5" y="2.5" width="59" height="59" rx="13.5" fill="none" stroke="#0e3e48" stroke-opacity="0.45"/>
  <rect x="13" y="15" width="38" height="36" rx="6" fill="#ffffff"/>
  <rect x="13" y="15" width="38" height="9" rx="4" fill="#d9f1ed"/>
  <circle cx="32" cy="36" r="7.5" fill="#1d6f80"/>
  <rect x="30" y="36" width="4" height="8" rx="1.5" fill="#1d6f80"/>
  <circle cx="32" cy="35.5" r="2.6" fill="#ffffff"/>
</svg>
"""

_DISC = (
    '<circle cx="32" cy="32" r="29" fill="{color}"/>'
    '<circle cx="32" cy="32" r="29" fill="none" stroke="#1b1b1b" stroke-opacity="0.55" '
    'stroke-width="2.5"/>'
    '<circle cx="32" cy="32" r="26.5" fill="none" stroke="#ffffff" stroke-opacity="0.35" '
    'stroke-width="1.5"/>'
)

TRAY_GLYPHS = {
    # up to date: a check mark
    "ok": (
        "#2e8b57",
        '<path d="M18 33 L28 43 L46 22" fill="none" stroke="#fff" stroke-width="7" '
        'stroke-linecap="round" stroke-linejoin="round"/>',
    ),
    # running: an upward arrow into a cloud line
    "running": (
        "#2870c8",
        '<path d="M32 46 L32 20" stroke="#fff" stroke-width="7" stroke-linecap="round"/>'
        '<path d="M20 30 L32 18 L44 30" fill="none" stroke="#fff" stroke-width="7" '
        'stroke-linecap="round" stroke-linejoin="round"/>',
    ),
    # restoring: a downward arrow (files coming back), not the backup's upward one
    "restoring": (
        "#2870c8",
        '<path d="M32 18 L32 44" stroke="#fff" stroke-width="7" stroke-linecap="round"/>'
        '<path d="M20 34 L32 46 L44 34" fill="none" stroke="#fff" stroke-width="7" '
        'stroke-linecap="round" stroke-linejoin="round"/>',
    ),
    # paused: two bars
    "paused": (
        "#6b7280",
        '<rect x="21" y="18" width="8" height="28" rx="2.5" fill="#fff"/>'
        '<rect x="35" y="18" width="8" height="28" rx="2.5" fill="#fff"/>',
    ),
    # warning: an exclamation mark
    "warning": (
        "#d08700",
        '<rect x="28.5" y="14" width="7" height="24" rx="3.5" fill="#fff"/>'
        '<circle cx="32" cy="47" r="4.5" fill="#fff"/>',
    ),
    # error: a cross
    "error": (
        "#c62828",
        '<path d="M21 21 L43 43 M43 21 L21 43" stroke="#fff" stroke-width="7" '
        'stroke-linecap="round"/>',
    ),
}


def tray_svg(state: str) -> str:
    color, glyph = TRAY_GLYPHS[state]
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64">'
        + _DISC.format(color=color)
        + glyph
        + "</svg>\n"
    )


def render(svg: str, size: int, path: Path) -> None:
    from PySide6.QtCore import QByteArray, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode()))
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(path)):
        raise SystemExit(f"could not write {path}")


def main() -> int:
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for out in OUT_DIRS:
        out.mkdir(parents=True, exist_ok=True)
        (out / "keepsake.svg").write_text(APP_SVG, encoding="utf-8")
        for size in APP_SIZES:
            render(APP_SVG, size, out / f"keepsake-{size}.png")
        for state in TRAY_GLYPHS:
            svg = tray_svg(state)
            (out / f"tray-{state}.svg").write_text(svg, encoding="utf-8")
            for size in TRAY_SIZES:
                render(svg, size, out / f"tray-{state}-{size}.png")
    from platform_icons import write_platform_icons

    write_platform_icons(OUT_DIRS[0])
    print(f"icons written to {', '.join(str(d) for d in OUT_DIRS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
