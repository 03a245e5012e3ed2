"""Windows .ico and macOS .icns files built from the app icon's PNG renders.

Both formats can hold PNG images as they are, so no image library is needed: the
release builds on Windows and macOS take the committed files and need neither Pillow
nor iconutil. ``tools/make_icons.py`` calls :func:`write_platform_icons` after it
renders the PNGs; ``tests/unit/test_platform_icons.py`` checks the committed files
match the PNGs.
"""

from __future__ import annotations

import struct
from pathlib import Path

ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types that take PNG data: (type, pixel size of the PNG it holds).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic11", 32),  # 16 pt @2x
    (b"ic12", 64),  # 32 pt @2x
    (b"ic13", 256),  # 128 pt @2x
    (b"ic14", 512),  # 256 pt @2x
)


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO directory of 32-bit PNG images (Windows Vista and later read these)."""
    sizes = [s for s in ICO_SIZES if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the directory
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICNS container of PNG elements (macOS 10.7 and later)."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
        for kind, size in ICNS_TYPES
        if size in pngs
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def read_pngs(folder: Path) -> dict[int, bytes]:
    pngs: dict[int, bytes] = {}
    for path in folder.glob("keepsake-*.png"):
        size = int(path.stem.rsplit("-", 1)[1])
        pngs[size] = path.read_bytes()
    return pngs


def write_platform_icons(folder: Path) -> None:
    pngs = read_pngs(folder)
    (folder / "keepsake.ico").write_bytes(ico_bytes(pngs))
    (folder / "keepsake.icns").write_bytes(icns_bytes(pngs))


if __name__ == "__main__":
    write_platform_icons(Path(__file__).resolve().parent.parent / "resources" / "icons")
