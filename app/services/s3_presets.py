"""Provider presets for S3-compatible storage, and what the S3 form collects.

Plain data, so the UI can use it without reaching storage code (import-linter).
Endpoint templates follow the providers' documentation (docs/S3.md). Field names and
notes are marked for translators (context ``S3Presets``); the form translates them
when it shows them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QT_TRANSLATE_NOOP


def _marked(text: object) -> str:
    """``QT_TRANSLATE_NOOP`` returns its text unchanged, typed as ``object``."""
    return str(text)


@dataclass(frozen=True, slots=True)
class S3Preset:
    """A provider: ``template`` is its endpoint with ``{value}`` for ``field``."""

    name: str
    template: str
    field: str = ""
    example: str = ""
    note: str = ""

    def endpoint(self, value: str) -> str:
        if not self.template:
            return value.strip()
        return self.template.format(value=value.strip()) if value.strip() else ""


PRESETS: tuple[S3Preset, ...] = (
    S3Preset(
        "Backblaze B2",
        "https://s3.{value}.backblazeb2.com",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "Region")),
        "us-west-004",
        _marked(
            QT_TRANSLATE_NOOP(
                "S3Presets",
                "The region is part of the endpoint shown on the bucket's page. Use an "
                "application key limited to this bucket.",
            )
        ),
    ),
    S3Preset(
        "Wasabi",
        "https://s3.{value}.wasabisys.com",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "Region")),
        "eu-central-1",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "Wasabi bills deleted data for 90 days.")),
    ),
    S3Preset(
        "Cloudflare R2",
        "https://{value}.r2.cloudflarestorage.com",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "Account ID")),
        "",
        _marked(
            QT_TRANSLATE_NOOP(
                "S3Presets", "Create an R2 API token with Object Read & Write on the bucket."
            )
        ),
    ),
    S3Preset(
        "Amazon S3",
        "https://s3.{value}.amazonaws.com",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "Region")),
        "us-east-1",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "The bucket's region.")),
    ),
    S3Preset(
        _marked(QT_TRANSLATE_NOOP("S3Presets", "Other (MinIO, Garage, a NAS…)")),
        "",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "Endpoint")),
        "https://nas.local:9000",
        _marked(QT_TRANSLATE_NOOP("S3Presets", "The address of your S3-compatible server.")),
    ),
)


@dataclass(frozen=True, slots=True)
class S3Target:
    """What the form collected; ``repo`` is ``s3:BUCKET/PREFIX``."""

    endpoint: str
    bucket: str
    prefix: str
    access_key_id: str
    secret_access_key: str

    @property
    def repo(self) -> str:
        prefix = self.prefix.strip().strip("/")
        return f"s3:{self.bucket.strip()}/{prefix}" if prefix else f"s3:{self.bucket.strip()}"
