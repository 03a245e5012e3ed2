"""The first-run wizard: new backup (storage, passphrase, recovery key, folders,
schedule) or "Restore from an existing backup" on a new computer.

Slow steps (creating or opening a vault runs the key derivation) go through the
services and finish asynchronously; pages stay responsive and show what is happening.

One module per step: ``where`` (welcome, storage, Dropbox), ``new_vault``
(passphrase, recovery key), ``unlock`` (an existing vault), ``plan`` (folders,
schedule, summary), ``setup`` (the wizard); ``base`` holds what they share.
"""

from app.ui.wizard.base import DropboxConnect, PageId, WizardBase
from app.ui.wizard.setup import SetupWizard

__all__ = ["DropboxConnect", "PageId", "SetupWizard", "WizardBase"]
