"""What the bundle leaves out, as plain rules the spec applies and the tests read.

PyInstaller's Qt hooks collect every plugin and library a module might use. Keepsake
uses QtCore, QtGui, QtWidgets, QtNetwork (single-instance socket), QtSvg (icons) and
QtPrintSupport (the recovery kit), so QML/Quick, the virtual keyboard, QtPdf, the
framebuffer/VNC/EGLFS platforms, Qt's translations other than qtbase (the only catalog
app/ui/i18n.py loads) and the GTK3
platform theme (it drags in the build machine's GTK/Pango/Cairo stack, an ABI risk on
other distributions) are dead weight. zstandard ships two backends; we import the C one.
botocore carries the API models of some 450 AWS services (27 MiB); the S3 backend uses
S3, and credentials from a profile may use STS and SSO.
"""

from __future__ import annotations

import re
from pathlib import Path

# Matched against the destination path inside the bundle, with "/" separators.
_DROP = [
    r"PySide6/Qt/translations/(?!qtbase_)",  # app/ui/i18n.py loads only qtbase
    r"PySide6/Qt/qml/",
    r"PySide6/Qt/lib/libQt6(Qml|QmlMeta|QmlModels|QmlWorkerScript|Quick|VirtualKeyboard"
    r"|VirtualKeyboardQml|Pdf|EglFSDeviceIntegration|EglFsKmsSupport)\.so",
    r"PySide6/Qt/plugins/platforms/libq(eglfs|linuxfb|vnc|minimalegl|vkkhrdisplay)\.so",
    r"PySide6/Qt/plugins/egldeviceintegrations/",
    r"PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin\.so",
    r"PySide6/Qt/plugins/platformthemes/libqgtk3\.so",
    r"PySide6/Qt/plugins/imageformats/libqpdf\.so",
    r"PySide6/Qt/plugins/generic/",
    r"PySide6/Qt/plugins/networkinformation/",
    r"PySide6/Qt(Qml|Quick|Pdf|VirtualKeyboard)",
    r"zstandard/_cffi\.",
    r"botocore/data/(?!s3/|sts/|sso/|sso-oidc/)[^/]+/",
    # The GTK3 theme's own stack (nothing else we keep links to it).
    r"^lib(gtk-3|gdk-3|atk-1\.0|atk-bridge|pango-1\.0|pangocairo-1\.0|pangoft2-1\.0"
    r"|cairo|cairo-gobject|gdk_pixbuf-2\.0|thai|datrie|fribidi|epoxy|pixman-1)\.so",
]
_DROP_RE = re.compile("|".join(f"(?:{p})" for p in _DROP))

# Python modules never imported by the app.
EXCLUDED_MODULES = [
    "tkinter",
    "pytest",
    "hypothesis",
    "mypy",
    "PyInstaller",
    "PySide6.QtQml",
    "PySide6.QtQuick",
    "PySide6.QtQuickWidgets",
    "PySide6.QtPdf",
    "PySide6.QtPdfWidgets",
    "PySide6.QtVirtualKeyboard",
    "zstandard.backend_cffi",
]


_QT_CATALOG = re.compile(r"PySide6/Qt/translations/qtbase_(?P<lang>[a-zA-Z_]+)\.qm$")


def keep(dest: str, languages: frozenset[str] | None = None) -> bool:
    """True if a file collected for ``dest`` (path inside the bundle) belongs in it.

    With ``languages`` (those Keepsake itself is translated into), Qt's catalog is kept
    only for them: a window with Qt's buttons in French around English text would be
    worse than all English."""
    dest = dest.replace("\\", "/")
    if _DROP_RE.search(dest):
        return False
    catalog = _QT_CATALOG.search(dest)
    if catalog and languages is not None:
        lang = catalog["lang"]
        return lang in languages or lang.split("_")[0] in languages
    return True


def app_languages(translations: Path) -> frozenset[str]:
    """Languages with a ``keepsake_<lang>.ts`` file."""
    return frozenset(p.stem.removeprefix("keepsake_") for p in translations.glob("keepsake_*.ts"))


def filter_toc(
    toc: list[tuple[str, str, str]], languages: frozenset[str] | None = None
) -> list[tuple[str, str, str]]:
    return [entry for entry in toc if keep(entry[0], languages)]
