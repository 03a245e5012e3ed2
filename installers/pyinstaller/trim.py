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


def keep(dest: str) -> bool:
    """True if a file collected for ``dest`` (path inside the bundle) belongs in it."""
    return _DROP_RE.search(dest.replace("\\", "/")) is None


def filter_toc(toc: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [entry for entry in toc if keep(entry[0])]
