"""Languages: every user-visible string of the UI goes through ``self.tr`` (Qt's
translation machinery), and what the services compose for people (status headlines,
notifications, messages) through ``QCoreApplication.translate``, so a translator
works from ``keepsake_<lang>.ts`` alone.

``make translations`` refreshes the ``.ts`` files from the source with
``pyside6-lupdate``; a translator fills them in Qt Linguist, and
``pyside6-lrelease`` turns each into the ``.qm`` file loaded here at start-up for the
user's language (with Qt's own strings: the wizard's Back/Next/Cancel buttons).
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

log = logging.getLogger(__name__)


def translations_dir() -> Path:
    return Path(str(resources.files("app").joinpath("resources", "translations")))


def install_translators(
    app: QCoreApplication, locale: QLocale | None = None, directory: Path | None = None
) -> list[QTranslator]:
    """Load Keepsake's and Qt's translations for ``locale`` (the system's by default).

    Missing files are normal (English, or a language nobody translated yet): the
    source strings are shown. Returns the installed translators (the caller may
    remove them again, as tests do)."""
    locale = locale or QLocale.system()
    directory = directory or translations_dir()
    installed: list[QTranslator] = []
    for name, where in (
        ("keepsake", str(directory)),
        ("qtbase", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)),
    ):
        translator = QTranslator(app)
        if translator.load(locale, name, "_", where):
            app.installTranslator(translator)
            installed.append(translator)
            log.info("Loaded %s translations for %s", name, locale.name())
            if name == "keepsake":
                _humanize(locale.name())
    return installed


def remove_translators(app: QCoreApplication, installed: list[QTranslator]) -> None:
    """Undo :func:`install_translators` (tests switch languages back)."""
    import humanize

    for translator in installed:
        app.removeTranslator(translator)
    humanize.i18n.deactivate()


def _humanize(language: str) -> None:
    """Times and sizes written by humanize ("3 days", "5 minutes ago") in the same
    language as Keepsake's own words, when humanize has a catalogue for it; only when
    Keepsake itself is translated, so a window never mixes two languages."""
    import humanize

    try:
        humanize.i18n.activate(language)
    except FileNotFoundError:
        log.info("humanize has no %s catalogue; its phrases stay English", language)
