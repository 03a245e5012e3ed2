"""The wizard's page for S3-compatible storage: the S3 form, and Next only after its
connection test passed for exactly what is in the fields."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWizardPage

from app.ui.s3_form import S3Connect, S3Form
from app.ui.wizard.base import PageId, WizardBase


class S3Page(QWizardPage):
    def __init__(self, connector: S3Connect | None) -> None:
        super().__init__()
        self.setTitle(self.tr("S3-compatible storage"))
        self.setSubTitle(
            self.tr(
                "Backblaze B2, Wasabi, Cloudflare R2, Amazon S3, or your own server. "
                "Keepsake tests the connection before going on."
            )
        )
        self.form = S3Form(connector)
        self.form.testedChanged.connect(lambda _ok: self.completeChanged.emit())
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addStretch(1)

    def _restoring(self) -> bool:
        wiz = self.wizard()
        return isinstance(wiz, WizardBase) and wiz.restoring

    def initializePage(self) -> None:
        # Restoring needs a backup in the bucket, a new backup needs none: a test
        # passed for the other direction no longer counts.
        existing = self._restoring()
        if existing != self.form.existing:
            self.form.existing = existing
            self.form.reset_test()

    def repo(self) -> str:
        return self.form.target().repo

    def isComplete(self) -> bool:
        return self.form.tested

    def nextId(self) -> int:
        return PageId.UNLOCK if self._restoring() else PageId.PASSPHRASE
