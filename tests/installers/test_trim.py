"""The bundle's trim rules drop what Keepsake never loads and keep what it needs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _trim() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "trim", ROOT / "installers" / "pyinstaller" / "trim.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/lib/libQt6Core.so.6",
        "PySide6/Qt/lib/libQt6Gui.so.6",
        "PySide6/Qt/lib/libQt6Widgets.so.6",
        "PySide6/Qt/lib/libQt6PrintSupport.so.6",  # the recovery kit prints
        "PySide6/Qt/lib/libQt6Svg.so.6",
        "PySide6/Qt/lib/libQt6Network.so.6",  # single-instance socket
        "PySide6/Qt/lib/libQt6XcbQpa.so.6",
        "PySide6/Qt/lib/libQt6WaylandClient.so.6",
        "PySide6/Qt/lib/libicudata.so.73",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/printsupport/libcupsprintersupport.so",
        "PySide6/Qt/plugins/imageformats/libqjpeg.so",
        "PySide6/Qt/plugins/platformthemes/libqxdgdesktopportal.so",
        "PySide6\\Qt6Gui.dll",
        "zstandard/backend_c.cpython-311-x86_64-linux-gnu.so",
        "libcups.so.2",
        "libharfbuzz.so.0",
        "libfreetype.so.6",
        "PySide6/Qt/translations/qtbase_de.qm",
        "botocore/data/s3/service-2.json.gz",
        "botocore/data/sts/service-2.json.gz",
        "botocore/data/endpoints.json",
        "botocore/data/partitions.json",
        "botocore/data/_retry.json",
    ],
)
def test_kept(dest: str) -> None:
    assert _trim().keep(dest)


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/translations/designer_de.qm",
        "PySide6/Qt/translations/qtdeclarative_de.qm",
        "PySide6/Qt/lib/libQt6Quick.so.6",
        "PySide6/Qt/lib/libQt6Qml.so.6",
        "PySide6/Qt/lib/libQt6VirtualKeyboard.so.6",
        "PySide6/Qt/lib/libQt6Pdf.so.6",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "zstandard/_cffi.cpython-311-x86_64-linux-gnu.so",
        "libgtk-3.so.0",
        "libpango-1.0.so.0",
        "libcairo.so.2",
        "botocore/data/ec2/2016-11-15/service-2.json.gz",
        "botocore/data/dynamodb/2012-08-10/service-2.json.gz",
    ],
)
def test_dropped(dest: str) -> None:
    assert not _trim().keep(dest)


def test_qt_catalogs_only_for_languages_keepsake_speaks() -> None:
    trim = _trim()
    languages = trim.app_languages(ROOT / "app" / "resources" / "translations")
    assert "de" in languages
    assert trim.keep("PySide6/Qt/translations/qtbase_de.qm", languages)
    assert not trim.keep("PySide6/Qt/translations/qtbase_fr.qm", languages)
    assert trim.keep("PySide6/Qt/translations/qtbase_pt_BR.qm", frozenset({"pt"}))
