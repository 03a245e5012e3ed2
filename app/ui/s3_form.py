"""S3-compatible storage in the desktop app: the form (provider presets or a custom
endpoint, bucket and folder, keys, a connection test) that the wizard's S3 page
(``app.ui.wizard.s3``) shows, and the Settings › Storage dialog that changes the keys
or the endpoint.

Nothing goes on until the test passed; the keys are kept (in the keyring, by the
service) only after a passing test. The secret is never shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.services.jobs import JobOutcome
from app.services.s3_presets import PRESETS, S3Target
from app.ui.widgets import hint


class S3Connect(Protocol):
    """What the form needs (``app.services.s3.S3Connector``)."""

    def test(
        self, target: S3Target, *, existing: bool, done: Callable[[JobOutcome[str]], None]
    ) -> None: ...


def preset_for(endpoint: str) -> tuple[int, str]:
    """The preset (index) and its field value that produce ``endpoint``; else custom."""
    for index, preset in enumerate(PRESETS):
        head, _, tail = preset.template.partition("{value}")
        if preset.template and endpoint.startswith(head) and endpoint.endswith(tail):
            return index, endpoint[len(head) : len(endpoint) - len(tail)]
    return len(PRESETS) - 1, endpoint


class S3Form(QWidget):
    """Provider, bucket, folder and keys; ``tested`` says whether the test passed for
    exactly what is in the fields now."""

    testedChanged = Signal(bool)

    def __init__(self, connector: S3Connect | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.connector = connector
        self.existing = False
        self.tested = False
        self.provider = QComboBox()
        for preset in PRESETS:
            self.provider.addItem(QCoreApplication.translate("S3Presets", preset.name))
        self.value = QLineEdit()
        self.value.setAccessibleName(self.tr("Region or endpoint"))
        self.value_label = QLabel("")
        self.endpoint_hint = hint("")
        self.bucket = QLineEdit()
        self.bucket.setPlaceholderText("my-backups")
        self.folder = QLineEdit("keepsake")
        self.access_key = QLineEdit()
        self.secret_key = QLineEdit()
        self.secret_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.test_button = QPushButton(self.tr("Test connection"))
        self.test_button.clicked.connect(self.run_test)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("s3Status")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.bar.hide()
        form = QFormLayout()
        form.addRow(self.tr("Provider:"), self.provider)
        form.addRow(self.value_label, self.value)
        form.addRow("", self.endpoint_hint)
        form.addRow(self.tr("Bucket:"), self.bucket)
        form.addRow(self.tr("Folder in the bucket:"), self.folder)
        form.addRow(self.tr("Access key ID:"), self.access_key)
        form.addRow(self.tr("Secret key:"), self.secret_key)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.test_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        layout.addWidget(
            hint(
                self.tr(
                    "The bucket must exist already. The secret key is kept only in this "
                    "computer's keyring."
                )
            )
        )
        for widget, name in (
            (self.provider, self.tr("Provider")),
            (self.provider.view(), self.tr("Providers")),
            (self.value, self.tr("Region, account ID or endpoint")),
            (self.bucket, self.tr("Bucket")),
            (self.folder, self.tr("Folder in the bucket")),
            (self.access_key, self.tr("Access key ID")),
            (self.secret_key, self.tr("Secret key")),
        ):
            widget.setAccessibleName(name)
        self.provider.currentIndexChanged.connect(self._provider_changed)
        for field in (self.value, self.bucket, self.folder, self.access_key, self.secret_key):
            field.textChanged.connect(self._edited)
        self._provider_changed(0)
        self.test_button.setEnabled(connector is not None)
        if connector is None:
            self.status.setText(self.tr("S3 support is not available in this build."))

    def endpoint(self) -> str:
        return PRESETS[self.provider.currentIndex()].endpoint(self.value.text())

    def target(self) -> S3Target:
        return S3Target(
            endpoint=self.endpoint(),
            bucket=self.bucket.text().strip(),
            prefix=self.folder.text().strip(),
            access_key_id=self.access_key.text().strip(),
            secret_access_key=self.secret_key.text().strip(),
        )

    def set_endpoint(self, endpoint: str) -> None:
        index, value = preset_for(endpoint)
        self.provider.setCurrentIndex(index)
        self.value.setText(value)

    def _provider_changed(self, index: int) -> None:
        preset = PRESETS[index]
        field = QCoreApplication.translate("S3Presets", preset.field)
        self.value_label.setText(f"{field}:")
        self.value.setAccessibleName(field)  # what a screen reader says
        self.value.setPlaceholderText(preset.example)
        self._edited()

    def _edited(self) -> None:
        preset = PRESETS[self.provider.currentIndex()]
        endpoint = self.endpoint()
        where = (
            self.tr("Endpoint: %1").replace("%1", endpoint)
            if endpoint
            else self.tr("Endpoint: AWS's default for the region")
        )
        note = QCoreApplication.translate("S3Presets", preset.note) if preset.note else ""
        self.endpoint_hint.setText(f"{where}. {note}".strip())
        self.reset_test()

    def reset_test(self) -> None:
        """Forget a passed test (the fields or what they are checked for changed)."""
        self._set_tested(False)
        self.status.setText("")

    def _set_tested(self, ok: bool) -> None:
        if ok != self.tested:
            self.tested = ok
            self.testedChanged.emit(ok)

    def run_test(self) -> None:
        target = self.target()
        if self.connector is None:
            return
        if not target.bucket or not target.access_key_id or not target.secret_access_key:
            self.status.setText(self.tr("Enter the bucket, the access key ID and the secret key."))
            return
        self.test_button.setEnabled(False)
        self.bar.show()
        self.status.setText(self.tr("Testing the connection…"))
        self.connector.test(target, existing=self.existing, done=self._tested)

    def _tested(self, outcome: JobOutcome[str]) -> None:
        self.bar.hide()
        self.test_button.setEnabled(True)
        if outcome.ok:
            self.status.setText(f"✓ {outcome.value}")
        else:
            self.status.setText(outcome.message)
        self._set_tested(outcome.ok)


class S3Dialog(QDialog):
    """Settings › Storage: new keys or a new endpoint for the vault's bucket (the
    bucket and folder stay: they are where the backup is). A passing test keeps
    them, as in the wizard."""

    def __init__(
        self,
        connector: S3Connect | None,
        repo: str,
        endpoint: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("S3 connection"))
        self.form = S3Form(connector)
        self.form.existing = True
        bucket, _, folder = repo.removeprefix("s3:").partition("/")
        self.form.bucket.setText(bucket)
        self.form.folder.setText(folder)
        self.form.bucket.setReadOnly(True)
        self.form.folder.setReadOnly(True)
        self.form.set_endpoint(endpoint)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(buttons)
