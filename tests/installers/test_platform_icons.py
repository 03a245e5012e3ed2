"""The committed .ico and .icns are the app icon's PNGs, in containers Windows and
macOS read, so release builds need no image tools."""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
ICONS = ROOT / "resources" / "icons"


def _platform_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "platform_icons", ROOT / "tools" / "platform_icons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["platform_icons"] = module
    spec.loader.exec_module(module)
    return module


def test_committed_icons_match_the_pngs() -> None:
    tool = _platform_icons()
    pngs = tool.read_pngs(ICONS)
    assert (ICONS / "keepsake.ico").read_bytes() == tool.ico_bytes(pngs)
    assert (ICONS / "keepsake.icns").read_bytes() == tool.icns_bytes(pngs)


def test_ico_directory_points_at_each_png() -> None:
    data = (ICONS / "keepsake.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for i in range(count):
        w, h, _colors, _res, planes, bpp, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * i
        )
        png = data[offset : offset + length]
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", png[16:24])
        assert (w or 256, h or 256) == (width, height)
        assert (planes, bpp) == (1, 32)
        sizes.append(width)
    assert {16, 32, 48, 256} <= set(sizes)


def test_icns_elements_hold_pngs_of_their_size() -> None:
    data = (ICONS / "keepsake.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    expected = {kind.decode(): size for kind, size in _platform_icons().ICNS_TYPES}
    pos, seen = 8, set()
    while pos < len(data):
        kind = data[pos : pos + 4].decode()
        length = struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        png = data[pos + 8 : pos + length]
        assert struct.unpack(">II", png[16:24]) == (expected[kind], expected[kind])
        seen.add(kind)
        pos += length
    assert pos == len(data)
    assert {"ic07", "ic08", "ic09", "icp4"} <= seen
