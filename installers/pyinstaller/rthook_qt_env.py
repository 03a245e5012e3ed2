"""Replacement for PyInstaller's PySide6 runtime hook that does not import Qt.

The stock hook imports QtCore (and with it 30 MiB of ICU data) before ``main()`` to
write an embedded qt.conf, which the PySide6 wheels write themselves on first import.
Keepsake's command line never loads Qt, so it must not pay for that: we only point Qt
at the bundled plugins, which costs nothing until the GUI starts.
"""

import os
import sys

_base = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
_qt = (
    os.path.join(_base, "PySide6")
    if sys.platform.startswith("win")
    else os.path.join(_base, "PySide6", "Qt")
)
os.environ.setdefault("QT_PLUGIN_PATH", os.path.join(_qt, "plugins"))
if sys.platform.startswith("win"):
    os.environ["PATH"] = _base + os.pathsep + os.environ.get("PATH", "")
