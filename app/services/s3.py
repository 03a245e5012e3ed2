"""S3-compatible storage for the desktop app: the connection test.

The wizard and Settings › Storage offer presets (``app.services.s3_presets``) or a
custom endpoint, and test the connection before going on. Only a tested pair of keys is kept, and only in the OS keyring
(``s3-access-key-id``, ``s3-secret-access-key``); the endpoint is a setting, the secret
never is. The test runs on the worker thread; only ``app.main`` imports this module,
the UI sees it through a small protocol.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication

from app.core.cancel import CancelToken
from app.core.errors import AppError
from app.services.gateway import S3_MODULES, prewarm
from app.services.jobs import JobKind, JobOutcome, JobRunner
from app.services.s3_presets import S3Target

log = logging.getLogger(__name__)

ACCESS_KEY_SECRET = "s3-access-key-id"
SECRET_KEY_SECRET = "s3-secret-access-key"


class S3Connector:
    """Tests a bucket with the given keys on the worker thread, then keeps the keys."""

    def __init__(
        self,
        runner: JobRunner,
        save_secret: Callable[[str, str], None],
        save_endpoint: Callable[[str], None],
    ) -> None:
        self._runner = runner
        self._save_secret = save_secret
        self._save_endpoint = save_endpoint

    @staticmethod
    def available() -> bool:
        try:
            import importlib.util

            return importlib.util.find_spec("boto3") is not None
        except (ImportError, ValueError):
            return False

    def test(
        self,
        target: S3Target,
        *,
        existing: bool,
        done: Callable[[JobOutcome[str]], None],
    ) -> None:
        """Check keys, bucket and permissions; ``existing``: a vault must be there
        (restoring), else there must be none. On success the keys go to the keyring and
        the endpoint to the settings, and ``done`` gets a sentence for the person."""
        prewarm(S3_MODULES)
        from app.storage.s3 import warm_up

        warm_up()  # boto3 imports on the GUI thread, never on the worker

        def work(_: CancelToken) -> str:
            return _check(target, existing=existing)

        def finished(outcome: JobOutcome[str]) -> None:
            if outcome.ok:
                self._save_secret(ACCESS_KEY_SECRET, target.access_key_id.strip())
                self._save_secret(SECRET_KEY_SECRET, target.secret_access_key.strip())
                self._save_endpoint(target.endpoint.strip())
            done(outcome)

        self._runner.call(JobKind.S3_TEST, work, finished)


def _check(target: S3Target, *, existing: bool) -> str:
    from app.core.errors import NotFoundInStorage
    from app.storage.s3.backend import S3Storage
    from app.storage.s3.config import (
        S3Credentials,
        S3Settings,
        normalise_endpoint,
        parse_location,
        region_from_endpoint,
    )

    if not target.access_key_id.strip() or not target.secret_access_key.strip():
        raise AppError(
            QCoreApplication.translate("S3", "Enter the access key ID and the secret key.")
        )
    location = parse_location(target.repo[len("s3:") :])
    endpoint = normalise_endpoint(target.endpoint)
    settings = S3Settings(
        endpoint=endpoint,
        region=region_from_endpoint(endpoint) or "us-east-1",
        credentials=S3Credentials(
            access_key_id=target.access_key_id.strip(),
            secret_access_key=target.secret_access_key.strip(),
        ),
    )
    storage = S3Storage(location, settings=settings, attempts=2, connect_timeout=8.0)
    try:
        storage.check_access()
        try:
            storage.stat("config")
            has_vault = True
        except NotFoundInStorage:
            has_vault = False
        if existing and not has_vault:
            raise AppError(
                QCoreApplication.translate(
                    "S3",
                    "There is no Keepsake backup in {location}. Check the bucket and the "
                    "folder name.",
                ).format(location=location)
            )
        if not existing and has_vault:
            raise AppError(
                QCoreApplication.translate(
                    "S3",
                    "{location} already holds a Keepsake backup. To use it, go Back and "
                    "choose “Restore from an existing backup”, or choose another folder.",
                ).format(location=location)
            )
        if not existing:  # writing and deleting is what a backup needs
            probe = f"connection-test-{secrets.token_hex(4)}"
            storage.put(probe, b"keepsake")
            storage.delete(probe)
    finally:
        storage.close()
    return QCoreApplication.translate("S3", "Connected to {location} at {where}.").format(
        location=location, where=settings.where
    )
