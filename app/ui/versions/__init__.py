"""The version browser (the Versions page): a merged tree of every file ever backed
up, search, per-file history, previews, time travel, restore and drag and drop.

Modules: ``tree_model`` (the lazy merged tree), ``history_model`` (one file's
versions), ``preview`` (thumbnails and text off the GUI thread), ``dialogs``
(Replace / Keep both / Cancel), ``page`` (the page that ties them together).
"""

from app.ui.versions.page import VersionsPage

__all__ = ["VersionsPage"]
