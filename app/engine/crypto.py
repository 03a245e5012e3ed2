"""The trust boundary: key derivation, key wrapping, authenticated encryption, ids.

Only this module touches key bytes. Everything the storage sees passes through
``seal_object``/``seal_blob`` (AES-256-GCM with the object's type and name, or the
blob's type and id, bound as associated data), so a swapped, truncated or flipped
object fails to open instead of yielding wrong plaintext. See docs/FORMAT.md.
"""

from __future__ import annotations

import base64
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from typing import Any

import blake3
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.core.errors import AppError, ErrorCode, VaultCorruptError, WrongPasswordError

OBJECT_MAGIC = b"KSV1"
BLOB_MAGIC = b"KSB1"
KEY_AD = b"keepsake-key-v1"
NONCE_LEN = 12
TAG_LEN = 16
ID_LEN = 32

# Minimums accepted from a vault (RFC 9106 second recommendation for Argon2id).
ARGON2_MIN_MEMORY_KIB = 64 * 1024
ARGON2_MIN_ITERATIONS = 3
SCRYPT_MIN_LOG2_N = 17
# Ceilings: a key object is plain JSON anyone with write access to the storage can
# forge, so its costs are bounded by what a desktop can afford to try (docs/FORMAT.md
# section 2). Cost is measured in MiB-passes: memory times passes over it. The
# default (64 MiB x 3) is 192; one key object may ask up to ~10x that, and one unlock
# spends at most two such objects' worth, trying the cheapest objects first.
ARGON2_MAX_MEMORY_KIB = 1024 * 1024
ARGON2_MAX_ITERATIONS = 16
ARGON2_MAX_LANES = 16
SCRYPT_MAX_LOG2_N = 20
SCRYPT_MAX_R = 32
SCRYPT_MAX_P = 4
SCRYPT_MAX_MEMORY = 1024 * 1024 * 1024
KDF_MAX_COST = 2048
KDF_TOTAL_BUDGET = 4096
DEFAULT_KDF: dict[str, Any] = {
    "algorithm": "argon2id",
    "memory_kib": ARGON2_MIN_MEMORY_KIB,
    "iterations": ARGON2_MIN_ITERATIONS,
    "lanes": 4,
}

# Object types (one byte in the object header, also bound as associated data).
T_CONFIG = 1
T_PACK_HEADER = 2
T_INDEX = 3
T_SNAPSHOT = 4
T_LOCK = 5
# Blob types (inside packs). The type byte's high bit says "zstd-compressed".
B_DATA = 1
B_TREE = 2
B_COMPRESSED = 0x80
B_KIND_MASK = 0x7F
BLOB_OVERHEAD = NONCE_LEN + TAG_LEN

COMPRESS_NONE = 0
COMPRESS_ZSTD = 1


def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def kdf_cost(params: dict[str, Any]) -> float:
    """The work one derivation with ``params`` costs, in MiB-passes (memory x passes).

    Argon2id makes ``iterations`` passes over ``memory_kib``; scrypt fills and then
    reads 128 * r * N bytes, p times. Used to order and bound unlock attempts."""
    if params.get("algorithm") == "argon2id":
        return int(params.get("memory_kib", 0)) / 1024 * int(params.get("iterations", 0))
    if params.get("algorithm") == "scrypt":
        memory = 128 * int(params.get("r", 0)) * (1 << min(int(params.get("log2_n", 0)), 62))
        return 2 * memory / (1024 * 1024) * max(1, int(params.get("p", 1)))
    return 0.0


def _too_costly(what: str) -> VaultCorruptError:
    return VaultCorruptError(
        f"A key object of this vault asks for more password hashing ({what}) than a "
        "desktop computer can afford; it was skipped as damaged or forged."
    )


def check_kdf_params(params: dict[str, Any]) -> None:
    """Refuse parameters weaker than our floor (a tampered key file must not
    downgrade) or costlier than our ceiling (a forged one must not exhaust memory or
    hold the unlock for minutes). Runs before any derivation."""
    algorithm = params.get("algorithm")
    if algorithm == "argon2id":
        memory = int(params.get("memory_kib", 0))
        iterations = int(params.get("iterations", 0))
        lanes = int(params.get("lanes", 0))
        if memory < ARGON2_MIN_MEMORY_KIB or iterations < ARGON2_MIN_ITERATIONS or lanes < 1:
            raise AppError(
                "This vault's key uses weaker password hashing than Keepsake accepts "
                f"(Argon2id {memory} KiB, {iterations} passes). Refusing to open it.",
                code=ErrorCode.WEAK_KDF,
            )
        if (
            memory > ARGON2_MAX_MEMORY_KIB
            or iterations > ARGON2_MAX_ITERATIONS
            or lanes > ARGON2_MAX_LANES
            or kdf_cost(params) > KDF_MAX_COST
        ):
            raise _too_costly(f"Argon2id {memory // 1024} MiB, {iterations} passes")
    elif algorithm == "scrypt":
        log2_n = int(params.get("log2_n", 0))
        r = int(params.get("r", 0))
        p = int(params.get("p", 1))
        if log2_n < SCRYPT_MIN_LOG2_N or r < 8 or p < 1:
            raise AppError(
                "This vault's key uses weaker password hashing than Keepsake accepts.",
                code=ErrorCode.WEAK_KDF,
            )
        if (
            log2_n > SCRYPT_MAX_LOG2_N
            or r > SCRYPT_MAX_R
            or p > SCRYPT_MAX_P
            or 128 * r * (1 << log2_n) > SCRYPT_MAX_MEMORY
            or kdf_cost(params) > KDF_MAX_COST
        ):
            raise _too_costly(f"scrypt N=2^{log2_n}, r={r}, p={p}")
    else:
        raise AppError(
            f"Unknown password hashing {algorithm!r}; a newer Keepsake may be needed.",
            code=ErrorCode.VAULT_UNSUPPORTED,
        )


# Two Argon2id derivations running at once in one process deadlock in the
# `cryptography` 50 wheel (both threads idle forever): derive one at a time.
_KDF_LOCK = threading.Lock()


def derive_kek(secret: str, params: dict[str, Any], salt: bytes) -> bytes:
    """Derive a key-encryption key from a passphrase or recovery key (slow on purpose).

    Running out of memory is this computer's limit, not a bug: it becomes an
    ``AppError`` naming the cost, never an "internal error"."""
    check_kdf_params(params)
    try:
        with _KDF_LOCK:
            return _derive(secret, params, salt)
    except MemoryError:
        raise AppError(
            f"Not enough free memory to check the passphrase (this vault's key asks for "
            f"{_memory_mib(params)} MiB). Close other programs and try again.",
            code=ErrorCode.GENERIC,
        ) from None


def _memory_mib(params: dict[str, Any]) -> int:
    if params.get("algorithm") == "argon2id":
        return int(params.get("memory_kib", 0)) // 1024
    return 128 * int(params.get("r", 0)) * (1 << int(params.get("log2_n", 0))) // (1024 * 1024)


def _derive(secret: str, params: dict[str, Any], salt: bytes) -> bytes:
    data = secret.encode("utf-8")
    if params["algorithm"] == "argon2id":
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        return Argon2id(
            salt=salt,
            length=32,
            iterations=int(params["iterations"]),
            lanes=int(params["lanes"]),
            memory_cost=int(params["memory_kib"]),
        ).derive(data)
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    return Scrypt(
        salt=salt,
        length=32,
        n=1 << int(params["log2_n"]),
        r=int(params["r"]),
        p=int(params.get("p", 1)),
    ).derive(data)


# --- Recovery key: 256 random bits, printable, with a checksum against typos. ---

_B32 = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1


def new_recovery_key() -> str:
    raw = secrets.token_bytes(32)
    check = blake3.blake3(raw).digest()[:2]
    value = int.from_bytes(raw + check, "big")
    chars = []
    for _ in range(55):  # 34 bytes = 272 bits -> 55 base-32 digits (275 bits)
        chars.append(_B32[value & 31])
        value >>= 5
    text = "".join(reversed(chars))
    return "-".join(text[i : i + 5] for i in range(0, len(text), 5))


def normalize_recovery_key(text: str) -> str:
    """Accept any spacing, case and dashes; refuse a key whose checksum is wrong."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    cleaned = cleaned.replace("O", "0").replace("I", "1")
    table = {c: i for i, c in enumerate(_B32)}
    if len(cleaned) != 55 or any(c not in table for c in cleaned):
        raise WrongPasswordError(
            "That is not a Keepsake recovery key (it should be 55 letters and digits in groups of 5)."
        )
    value = 0
    for c in cleaned:
        value = (value << 5) | table[c]
    if value >> 272:  # 55 digits hold 275 bits; the top 3 are always zero
        raise WrongPasswordError("The recovery key has a typo: please check every group.")
    raw_check = value.to_bytes(34, "big")
    raw, check = raw_check[:32], raw_check[32:]
    if blake3.blake3(raw).digest()[:2] != check:
        raise WrongPasswordError("The recovery key has a typo: please check every group.")
    return "-".join(cleaned[i : i + 5] for i in range(0, len(cleaned), 5))


# --- Master keys ------------------------------------------------------------------


@dataclass(frozen=True)
class MasterKeys:
    vault_id: str
    enc_key: bytes = b""
    id_key: bytes = b""

    def __repr__(self) -> str:  # never print key bytes
        return f"MasterKeys(vault_id={self.vault_id!r})"

    @classmethod
    def generate(cls) -> MasterKeys:
        return cls(secrets.token_hex(16), secrets.token_bytes(32), secrets.token_bytes(32))


def wrap_master_keys(keys: MasterKeys, secret: str, kind: str) -> bytes:
    """A key object: master keys encrypted under a KEK derived from ``secret``."""
    salt = secrets.token_bytes(16)
    params = dict(DEFAULT_KDF)
    kek = derive_kek(secret, params, salt)
    payload = json.dumps(
        {"vault_id": keys.vault_id, "enc_key": b64e(keys.enc_key), "id_key": b64e(keys.id_key)}
    ).encode()
    nonce = secrets.token_bytes(NONCE_LEN)
    wrapped = AESGCM(kek).encrypt(nonce, payload, KEY_AD + kind.encode())
    doc = {
        "version": 1,
        "kind": kind,
        "kdf": {**params, "salt": b64e(salt)},
        "nonce": b64e(nonce),
        "wrapped": b64e(wrapped),
    }
    return json.dumps(doc, indent=1).encode()


def parse_key_object(data: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("version") != 1:
            raise ValueError("version")
        for field in ("kind", "kdf", "nonce", "wrapped"):
            if field not in doc:
                raise ValueError(field)
        return doc
    except (ValueError, TypeError) as exc:
        raise VaultCorruptError("A key object of this vault is damaged.") from exc


def unwrap_master_keys(doc: dict[str, Any], secret: str) -> MasterKeys:
    """Raise ``WrongPasswordError`` if ``secret`` does not open this key object."""
    params = dict(doc["kdf"])
    salt = b64d(params.pop("salt"))
    kek = derive_kek(secret, params, salt)
    try:
        payload = AESGCM(kek).decrypt(
            b64d(doc["nonce"]), b64d(doc["wrapped"]), KEY_AD + str(doc["kind"]).encode()
        )
    except InvalidTag:
        raise WrongPasswordError("Wrong passphrase or recovery key.") from None
    inner = json.loads(payload)
    return MasterKeys(inner["vault_id"], b64d(inner["enc_key"]), b64d(inner["id_key"]))


def _as_app_error(exc: Exception) -> AppError:
    if isinstance(exc, AppError):
        return exc
    return VaultCorruptError("A key object of this vault is damaged.")


def unlock_master_keys(docs: list[dict[str, Any]], secret: str, kind: str) -> MasterKeys:
    """Try the key objects of ``kind`` with ``secret``: cheapest first, within a budget.

    Key objects are not authenticated as a whole, so any of them may be forged: one
    that is malformed, too weak, too costly or of a newer kind is skipped (it must not
    hide a good key beside it), and together they may cost at most
    ``KDF_TOTAL_BUDGET`` MiB-passes of hashing, so planting many of them cannot hold
    the unlock for minutes. A real vault has one object per kind, so the budget only
    ever stops forged ones. Raises ``WrongPasswordError`` when every affordable
    object refused the secret.
    """
    candidates = [d for d in docs if d.get("kind") == kind]
    if not candidates:
        raise VaultCorruptError(f"The vault has no readable {kind} key.")

    def cost(doc: dict[str, Any]) -> float:
        try:
            return kdf_cost(dict(doc["kdf"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            return 0.0  # malformed: refused at once, before any derivation

    refused: AppError | None = None
    spent = 0.0
    for doc in sorted(candidates, key=cost):
        try:
            check_kdf_params(dict(doc["kdf"]))  # refused ones cost nothing
        except (AppError, ValueError, TypeError, KeyError, OverflowError) as exc:
            refused = refused or _as_app_error(exc)
            continue
        price = cost(doc)
        if spent + price > KDF_TOTAL_BUDGET:
            raise VaultCorruptError(
                f"This vault holds {len(candidates)} {kind} key objects; Keepsake tried "
                "the cheapest ones and stopped, because trying the rest would take too "
                "long. Extra key objects are not made by Keepsake: the vault may have "
                "been tampered with."
            )
        spent += price
        try:
            return unwrap_master_keys(doc, secret)
        except WrongPasswordError:
            continue
        except (AppError, ValueError, TypeError, KeyError, OverflowError) as exc:
            refused = refused or _as_app_error(exc)
    if refused is not None:
        raise refused
    if kind == "recovery":
        raise WrongPasswordError("That recovery key does not open this vault.")
    raise WrongPasswordError("Wrong passphrase for this vault.")


# --- Authenticated encryption of objects and blobs ----------------------------------


class Cipher:
    """Seals and opens vault objects and blobs with the vault's master keys.

    Thread-safe: AESGCM and keyed BLAKE3 hold no per-call state.
    """

    def __init__(self, keys: MasterKeys) -> None:
        self.vault_id = keys.vault_id
        self._aead = AESGCM(keys.enc_key)
        self._id_key = keys.id_key
        self._local = threading.local()

    def blob_id(self, data: bytes | memoryview) -> bytes:
        """Keyed hash: the cloud cannot test whether we hold a known file."""
        return blake3.blake3(data, key=self._id_key).digest()

    def verify_blob_id(self, blob_id: bytes, data: bytes | memoryview) -> bool:
        return hmac.compare_digest(self.blob_id(data), blob_id)

    # Objects: magic | type | nonce | ciphertext+tag; AD = magic | type | name.
    def seal_object(self, obj_type: int, name: str, plaintext: bytes) -> bytes:
        header = OBJECT_MAGIC + bytes([obj_type])
        nonce = os.urandom(NONCE_LEN)
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + name.encode())

    def open_object(self, obj_type: int, name: str, data: bytes | memoryview) -> bytes:
        view = memoryview(data)
        header = OBJECT_MAGIC + bytes([obj_type])
        if len(view) < 5 + NONCE_LEN + TAG_LEN or bytes(view[:5]) != header:
            raise VaultCorruptError(f"{name} is damaged (bad header).")
        try:
            return self._aead.decrypt(
                view[5 : 5 + NONCE_LEN], view[5 + NONCE_LEN :], header + name.encode()
            )
        except InvalidTag:
            raise VaultCorruptError(f"{name} is damaged or was tampered with.") from None

    # Blobs inside packs: nonce | ciphertext+tag; AD = blob magic | type byte | id.
    # The type byte carries the compression bit, so it is authenticated too.
    def seal_blob_into(
        self,
        type_byte: int,
        blob_id: bytes,
        payload: bytes | memoryview,
        out: memoryview,
        nonce: bytes | None = None,
    ) -> int:
        """Encrypt straight into ``out`` (a slice of the pack buffer): no extra copy.

        ``nonce``: 12 fresh random bytes from ``nonces`` (one ``getrandom`` call for a
        batch of blobs instead of one per blob); drawn here when not given.
        """
        if nonce is None:
            nonce = os.urandom(NONCE_LEN)
        out[:NONCE_LEN] = nonce
        size = len(payload) + TAG_LEN
        self._aead.encrypt_into(
            nonce,
            payload,
            BLOB_MAGIC + bytes([type_byte]) + blob_id,
            out[NONCE_LEN : NONCE_LEN + size],
        )
        return NONCE_LEN + size

    @staticmethod
    def nonces(count: int) -> list[bytes]:
        """``count`` random nonces from one read of the OS generator: the same
        randomness as one ``os.urandom`` call per blob, at a system call per batch
        (per small file that call was ~5% of a backup's walk)."""
        pool = os.urandom(NONCE_LEN * count)
        return [pool[i : i + NONCE_LEN] for i in range(0, len(pool), NONCE_LEN)]

    def open_blob_into(
        self, type_byte: int, blob_id: bytes, data: bytes | memoryview, out: memoryview
    ) -> memoryview:
        """Decrypt into ``out`` (a reusable buffer); returns the plaintext view."""
        view = memoryview(data)
        if len(view) < NONCE_LEN + TAG_LEN:
            raise VaultCorruptError(f"Blob {blob_id.hex()[:16]} is truncated.")
        size = len(view) - NONCE_LEN - TAG_LEN
        if size > len(out):
            return memoryview(self.open_blob(type_byte, blob_id, data))
        try:
            self._aead.decrypt_into(
                view[:NONCE_LEN],
                view[NONCE_LEN:],
                BLOB_MAGIC + bytes([type_byte]) + blob_id,
                out[:size],
            )
        except InvalidTag:
            raise VaultCorruptError(f"Blob {blob_id.hex()[:16]} is damaged.") from None
        return out[:size]

    def open_blob(self, type_byte: int, blob_id: bytes, data: bytes | memoryview) -> bytes:
        view = memoryview(data)
        if len(view) < NONCE_LEN + TAG_LEN:
            raise VaultCorruptError(f"Blob {blob_id.hex()[:16]} is truncated.")
        try:
            return self._aead.decrypt(
                view[:NONCE_LEN], view[NONCE_LEN:], BLOB_MAGIC + bytes([type_byte]) + blob_id
            )
        except InvalidTag:
            raise VaultCorruptError(f"Blob {blob_id.hex()[:16]} is damaged.") from None
