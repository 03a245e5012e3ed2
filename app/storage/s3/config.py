"""Where an S3 vault lives and how to sign in to it, resolved from REPO, env and keyring.

``s3:BUCKET/PREFIX`` names a bucket and a folder-like key prefix inside it (the prefix
may be empty: the vault is then the whole bucket). The endpoint comes from
``KEEPSAKE_S3_ENDPOINT`` (or the app's setting), so one syntax covers AWS, Backblaze B2,
Wasabi, Cloudflare R2 and a NAS running MinIO or Garage.

Credentials follow the AWS conventions people already use with every other S3 tool:
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and ``AWS_SESSION_TOKEN``) or a profile
(``AWS_PROFILE``, ``~/.aws/credentials``). The desktop app keeps its key pair in the OS
keyring instead; the environment wins when both are there, so a script's explicit
variables are never overridden by what the app stored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from app.core.errors import AuthRequiredError, StorageError

ENV_ENDPOINT = "KEEPSAKE_S3_ENDPOINT"
ENV_CA_BUNDLE = "KEEPSAKE_S3_CA_BUNDLE"
#: Keyring entry names (service ``keepsake``) the backend asks ``secret_lookup`` for.
ACCESS_KEY_SECRET = "s3-access-key-id"
SECRET_KEY_SECRET = "s3-secret-access-key"

DEFAULT_REGION = "us-east-1"

# Bucket names as AWS allows them today (the strictest provider): 3-63 characters of
# lowercase letters, digits, dots and dashes, starting and ending with a letter/digit.
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX_PART_RE = re.compile(r"^[A-Za-z0-9!_.*'() -]+$")
# Region hidden in well-known endpoint host names: s3.REGION.amazonaws.com,
# s3.REGION.backblazeb2.com, s3.REGION.wasabisys.com.
_REGION_IN_HOST = re.compile(
    r"^s3[.-](?P<region>[a-z0-9-]+)\.(amazonaws\.com|backblazeb2\.com|wasabisys\.com)$"
)


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and a key prefix (no leading or trailing slash; may be empty)."""

    bucket: str
    prefix: str = ""

    @property
    def root(self) -> str:
        """What every object key starts with: ``prefix/`` or nothing."""
        return f"{self.prefix}/" if self.prefix else ""

    def __str__(self) -> str:
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket


def parse_location(spec: str) -> S3Location:
    """Parse ``BUCKET/PREFIX`` (what follows ``s3:``), refusing names S3 would reject."""
    bucket, _, prefix = spec.strip().partition("/")
    prefix = prefix.strip("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise StorageError(
            f"{bucket!r} is not a valid bucket name: use 3-63 lowercase letters, digits, "
            "dots or dashes (for example s3:my-backups/laptop)."
        )
    parts = prefix.split("/") if prefix else []
    for part in parts:
        if part in (".", "..") or not _PREFIX_PART_RE.match(part):
            raise StorageError(
                f"{prefix!r} is not a usable folder inside the bucket: use letters, digits, "
                "dashes, dots and underscores, separated by single slashes."
            )
    return S3Location(bucket, "/".join(parts))


def region_from_endpoint(endpoint: str | None) -> str | None:
    """The region a provider's endpoint names (``s3.eu-central-2.wasabisys.com``)."""
    if not endpoint:
        return None
    host = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}").hostname or ""
    if host.endswith(".r2.cloudflarestorage.com"):
        return "auto"
    match = _REGION_IN_HOST.match(host)
    return match.group("region") if match else None


def normalise_endpoint(endpoint: str | None) -> str | None:
    """``s3.example.com`` -> ``https://s3.example.com``; empty -> None (AWS itself)."""
    if not endpoint or not endpoint.strip():
        return None
    endpoint = endpoint.strip().rstrip("/")
    if "://" not in endpoint:
        endpoint = f"https://{endpoint}"
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StorageError(
            f"{endpoint!r} is not an S3 endpoint address (expected https://host[:port])."
        )
    return endpoint


@dataclass(frozen=True, slots=True)
class S3Credentials:
    """An explicit key pair (keyring, tests); ``None`` fields mean "AWS's usual chain"."""

    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)
    profile: str | None = None

    @property
    def explicit(self) -> bool:
        return bool(self.access_key_id and self.secret_access_key)


@dataclass(frozen=True, slots=True)
class S3Settings:
    """Everything needed to build a client, after env, settings and keyring."""

    endpoint: str | None
    region: str
    credentials: S3Credentials
    ca_bundle: str | None = None

    @property
    def where(self) -> str:
        """The service for messages: the endpoint's host, or "AWS S3"."""
        if self.endpoint is None:
            return "AWS S3"
        return urlsplit(self.endpoint).netloc or self.endpoint


def resolve_settings(
    env: Mapping[str, str] | None = None,
    secret_lookup: Callable[[str], str | None] | None = None,
    *,
    endpoint: str | None = None,
) -> S3Settings:
    """Endpoint, region and credentials for the CLI (env) or the app (keyring).

    ``endpoint`` is the app's setting; ``KEEPSAKE_S3_ENDPOINT`` wins over it so a
    script can point the same vault name at another server.
    """
    env = os.environ if env is None else env
    url = normalise_endpoint(env.get(ENV_ENDPOINT) or endpoint)
    region = (
        env.get("AWS_DEFAULT_REGION")
        or env.get("AWS_REGION")
        or region_from_endpoint(url)
        or DEFAULT_REGION
    )
    credentials = S3Credentials(profile=env.get("AWS_PROFILE") or None)
    uses_env = bool(env.get("AWS_ACCESS_KEY_ID")) or bool(env.get("AWS_PROFILE"))
    if not uses_env and secret_lookup is not None:
        key_id = secret_lookup(ACCESS_KEY_SECRET)
        secret = secret_lookup(SECRET_KEY_SECRET)
        if key_id and secret:
            credentials = S3Credentials(access_key_id=key_id, secret_access_key=secret)
        elif key_id:
            raise AuthRequiredError(
                "The S3 secret key is missing from the keyring: enter it again in "
                "Settings > Storage."
            )
    return S3Settings(
        endpoint=url,
        region=region,
        credentials=credentials,
        ca_bundle=env.get(ENV_CA_BUNDLE) or None,
    )
