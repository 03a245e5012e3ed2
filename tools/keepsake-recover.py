#!/usr/bin/env python3
"""Restore a snapshot from a local copy of a Keepsake vault, without Keepsake.

This script is the promise that your data outlives the app: it was written from
docs/FORMAT.md alone and needs only Python 3.9+ with the packages ``cryptography``
and ``zstandard`` (``pip install cryptography zstandard``). It shares no code with
Keepsake on purpose, so a bug in the app cannot hide a bug here and vice versa.

Usage::

    KEEPSAKE_PASSWORD=... python3 keepsake-recover.py VAULT_DIR --list
    KEEPSAKE_PASSWORD=... python3 keepsake-recover.py VAULT_DIR latest --target DIR [PATH...]
    KEEPSAKE_RECOVERY_KEY=... python3 keepsake-recover.py VAULT_DIR 1a2b3c4d --target DIR

Without either variable it prompts for the passphrase (``--recovery-key`` prompts for
the recovery key instead). Files are recreated under DIR at their original absolute
paths (``/home/ann/a.jpg`` -> ``DIR/home/ann/a.jpg``), byte-exact, with modes and
modification times. Every chunk is authenticated (AES-256-GCM) before it is written;
a damaged file is reported and left out, never written wrong. ``--verify-ids``
additionally recomputes every chunk's keyed BLAKE3 id in pure Python (slow, about
1 MB/s; the AES-GCM tag already detects any change).

Exit codes: 0 all restored; 1 something could not be restored (each named on
stderr); 2 usage; 4 wrong passphrase or recovery key.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import errno
import getpass
import hmac
import json
import os
import re
import secrets
import struct
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

try:
    import zstandard
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
except ImportError as _exc:  # pragma: no cover - depends on the machine
    sys.exit(f"keepsake-recover: missing package ({_exc}); run: pip install cryptography zstandard")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_WRONG_SECRET = 0, 1, 2, 4

OBJECT_MAGIC = b"KSV1"
BLOB_MAGIC = b"KSB1"
KEY_AD = b"keepsake-key-v1"
NONCE_LEN, TAG_LEN, ID_LEN = 12, 16, 32
T_CONFIG, T_PACK_HEADER, T_INDEX, T_SNAPSHOT = 1, 2, 3, 4
KIND_DATA, KIND_TREE, COMPRESSED = 0x01, 0x02, 0x80
VALID_BLOB_TYPES = (0x01, 0x02, 0x81, 0x82)
ENTRY = struct.Struct("<B32sIII")  # type_byte, blob id, offset, length, raw_length
U32 = struct.Struct("<I")
MAX_RAW = 64 * 1024 * 1024
MAX_DEPTH = 1024
TMP_PREFIX = ".keepsake-recover-"
RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
_UTC = timezone.utc  # noqa: UP017 - datetime.UTC needs Python 3.11; this runs on 3.9+


class Damaged(Exception):
    """The vault holds something that does not authenticate or parse (FORMAT.md)."""


class WrongSecret(Exception):
    """The passphrase or recovery key does not open any key object."""


class Refused(Exception):
    """The vault asks for something unsafe (weak KDF, an escaping name...)."""


# --- BLAKE3, pure Python (FORMAT.md sections 2 and 6) -------------------------------
# Needed for the recovery key's checksum and the optional id check. Only the hash and
# keyed_hash modes with 32 bytes of output are implemented.

_B3_IV = (
    0x6A09E667,
    0xBB67AE85,
    0x3C6EF372,
    0xA54FF53A,
    0x510E527F,
    0x9B05688C,
    0x1F83D9AB,
    0x5BE0CD19,
)
_B3_PERM = (2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8)
_CHUNK_START, _CHUNK_END, _PARENT, _ROOT, _KEYED = 1, 2, 4, 8, 16
_M32 = 0xFFFFFFFF


def _b3_compress(
    cv: list[int], block: bytes, counter: int, block_len: int, flags: int
) -> list[int]:
    s = [*cv, *_B3_IV[:4], counter & _M32, (counter >> 32) & _M32, block_len, flags]
    m = list(struct.unpack("<16I", block))

    def g(a: int, b: int, c: int, d: int, x: int, y: int) -> None:
        s[a] = (s[a] + s[b] + x) & _M32
        v = s[d] ^ s[a]
        s[d] = ((v >> 16) | (v << 16)) & _M32
        s[c] = (s[c] + s[d]) & _M32
        v = s[b] ^ s[c]
        s[b] = ((v >> 12) | (v << 20)) & _M32
        s[a] = (s[a] + s[b] + y) & _M32
        v = s[d] ^ s[a]
        s[d] = ((v >> 8) | (v << 24)) & _M32
        s[c] = (s[c] + s[d]) & _M32
        v = s[b] ^ s[c]
        s[b] = ((v >> 7) | (v << 25)) & _M32

    for rnd in range(7):
        g(0, 4, 8, 12, m[0], m[1])
        g(1, 5, 9, 13, m[2], m[3])
        g(2, 6, 10, 14, m[4], m[5])
        g(3, 7, 11, 15, m[6], m[7])
        g(0, 5, 10, 15, m[8], m[9])
        g(1, 6, 11, 12, m[10], m[11])
        g(2, 7, 8, 13, m[12], m[13])
        g(3, 4, 9, 14, m[14], m[15])
        if rnd < 6:
            m = [m[i] for i in _B3_PERM]
    return [s[i] ^ s[i + 8] for i in range(8)] + [s[i + 8] ^ cv[i] for i in range(8)]


def _b3_chunk(
    key: list[int], chunk: bytes, counter: int, flags: int
) -> tuple[list[int], bytes, int, int, int]:
    """Compress all but the last block of one chunk; return the pending output node."""
    cv = key
    blocks = [chunk[i : i + 64] for i in range(0, len(chunk), 64)] or [b""]
    for i, block in enumerate(blocks[:-1]):
        cv = _b3_compress(cv, block, counter, 64, flags | (_CHUNK_START if i == 0 else 0))[:8]
    last = blocks[-1]
    last_flags = flags | _CHUNK_END | (_CHUNK_START if len(blocks) == 1 else 0)
    return cv, last.ljust(64, b"\0"), len(last), counter, last_flags


def blake3(data: bytes, key: bytes | None = None) -> bytes:
    """BLAKE3 of ``data`` (keyed_hash mode when ``key`` is 32 bytes), 32-byte digest."""
    if key is None:
        key_words, flags = list(_B3_IV), 0
    else:
        key_words, flags = list(struct.unpack("<8I", key)), _KEYED
    chunks = [data[i : i + 1024] for i in range(0, len(data), 1024)] or [b""]
    stack: list[list[int]] = []
    for n, chunk in enumerate(chunks[:-1]):
        cv_in, block, length, counter, node_flags = _b3_chunk(key_words, chunk, n, flags)
        cv = _b3_compress(cv_in, block, counter, length, node_flags)[:8]
        total = n + 1
        while total & 1 == 0:  # merge every completed subtree
            cv = _b3_compress(
                key_words, struct.pack("<16I", *stack.pop(), *cv), 0, 64, flags | _PARENT
            )[:8]
            total >>= 1
        stack.append(cv)
    cv_in, block, length, counter, node_flags = _b3_chunk(
        key_words, chunks[-1], len(chunks) - 1, flags
    )
    while stack:
        cv = _b3_compress(cv_in, block, counter, length, node_flags)[:8]
        cv_in, block = key_words, struct.pack("<16I", *stack.pop(), *cv)
        length, counter, node_flags = 64, 0, flags | _PARENT
    return struct.pack("<8I", *_b3_compress(cv_in, block, counter, length, node_flags | _ROOT)[:8])


# --- Keys (FORMAT.md section 2) -----------------------------------------------------


def b64d(text: Any) -> bytes:
    if not isinstance(text, str):
        raise Damaged("expected base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def canonical_recovery_key(text: str) -> str:
    """The recovery key's canonical text (the KDF input); refuses typos by checksum."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    table = {c: i for i, c in enumerate(RECOVERY_ALPHABET)}
    if len(cleaned) != 55 or any(c not in table for c in cleaned):
        raise WrongSecret("that is not a Keepsake recovery key (55 letters and digits)")
    value = 0
    for c in cleaned:
        value = (value << 5) | table[c]
    if value >> 272:  # 55 digits hold 275 bits; the top 3 are zero (first char A-D)
        raise WrongSecret("the recovery key has a typo: check every group")
    raw_check = value.to_bytes(34, "big")
    if blake3(raw_check[:32])[:2] != raw_check[32:]:
        raise WrongSecret("the recovery key has a typo: check every group")
    return "-".join(cleaned[i : i + 5] for i in range(0, 55, 5))


def derive_kek(secret: str, kdf: dict[str, Any]) -> bytes:
    """Check the floor and ceiling first: a tampered key object must not downgrade us."""
    algorithm = kdf.get("algorithm")
    salt = b64d(kdf.get("salt"))
    data = secret.encode("utf-8")
    if algorithm == "argon2id":
        memory, passes, lanes = (int(kdf[k]) for k in ("memory_kib", "iterations", "lanes"))
        if memory < 65536 or passes < 3 or lanes < 1:
            raise Refused(f"key object asks for weak Argon2id ({memory} KiB, {passes} passes)")
        # Ceilings of FORMAT.md section 2 (cost in MiB-passes at most 2048).
        if memory > 1024 * 1024 or passes > 16 or lanes > 16 or memory // 1024 * passes > 2048:
            raise Damaged("key object asks for absurd Argon2id costs")
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        return Argon2id(
            salt=salt, length=32, iterations=passes, lanes=lanes, memory_cost=memory
        ).derive(data)
    if algorithm == "scrypt":
        log2_n, r, p = int(kdf["log2_n"]), int(kdf["r"]), int(kdf.get("p", 1))
        if log2_n < 17 or r < 8:
            raise Refused("key object asks for weak scrypt")
        mib = 128 * r * (1 << min(log2_n, 62)) // 2**20
        if log2_n > 20 or r > 32 or p > 4 or mib > 1024 or 2 * mib * p > 2048:
            raise Damaged("key object asks for absurd scrypt costs")
        from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

        return Scrypt(salt=salt, length=32, n=1 << log2_n, r=r, p=p).derive(data)
    raise Refused(f"unknown key derivation {algorithm!r}")


@dataclass(frozen=True)
class MasterKeys:
    vault_id: str
    enc_key: bytes
    id_key: bytes


def unlock(vault: Vault, secret: str, kind: str) -> MasterKeys:
    """Try every key object of ``kind``; skip malformed ones so they cannot hide a good one."""
    problems: list[str] = []
    tried = 0
    for name in vault.list_names("keys/", HEX32):
        try:
            doc = json.loads(vault.read(name))
            if not isinstance(doc, dict) or doc.get("version") != 1 or doc.get("kind") != kind:
                continue
            tried += 1
            kek = derive_kek(secret, doc["kdf"])
            ad = KEY_AD + str(doc["kind"]).encode("ascii")
            try:
                inner = json.loads(
                    AESGCM(kek).decrypt(b64d(doc["nonce"]), b64d(doc["wrapped"]), ad)
                )
            except InvalidTag:
                continue  # a wrong secret for this key object
            keys = MasterKeys(str(inner["vault_id"]), b64d(inner["enc_key"]), b64d(inner["id_key"]))
            if len(keys.enc_key) != 32 or len(keys.id_key) != 32:
                raise Damaged("wrapped keys have the wrong length")
            return keys
        except (Damaged, Refused, ValueError, KeyError, TypeError) as exc:
            problems.append(f"{name}: {exc}")
    if not tried:
        raise Damaged(f"no readable {kind} key object in keys/ ({'; '.join(problems) or 'none'})")
    if problems:
        warn("; ".join(problems))
    raise WrongSecret(f"the {'recovery key' if kind == 'recovery' else 'passphrase'} is wrong")


# --- Sealed objects and blobs (FORMAT.md sections 4, 5, 7, 8) -----------------------


class Vault:
    """A vault folder opened with its master keys. Every read is authenticated."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.aead: AESGCM | None = None
        self.id_key = b""
        self.verify_ids = False
        self.index: dict[bytes, tuple[int, bytes, int, int, int]] = {}
        self.scanned_packs = False
        self.dctx = zstandard.ZstdDecompressor()

    def path(self, name: str) -> str:
        return os.path.join(self.root, *name.split("/"))

    def list_names(self, prefix: str, pattern: re.Pattern[str]) -> list[str]:
        """Names under ``prefix`` whose last part matches ``pattern`` (temp files skipped)."""
        out: list[str] = []
        top = self.path(prefix.rstrip("/"))
        if not os.path.isdir(top):
            return out
        for dirpath, _dirs, files in os.walk(top):
            for filename in files:
                if filename.startswith(".tmp-") or not pattern.match(filename):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, filename), self.root)
                out.append(rel.replace(os.sep, "/"))
        return sorted(out)

    def read(self, name: str, offset: int = 0, length: int | None = None) -> bytes:
        with open(self.path(name), "rb") as fh:
            if offset:
                fh.seek(offset)
            data = fh.read() if length is None else fh.read(length)
        if length is not None and len(data) != length:
            raise Damaged(f"{name} is truncated")
        return data

    def set_keys(self, keys: MasterKeys) -> None:
        self.aead = AESGCM(keys.enc_key)
        self.id_key = keys.id_key

    def open_object(self, obj_type: int, name: str, data: bytes) -> bytes:
        """magic | type | nonce | ciphertext | tag, AD = magic | type | name."""
        assert self.aead is not None
        header = OBJECT_MAGIC + bytes([obj_type])
        if len(data) < 5 + NONCE_LEN + TAG_LEN or data[:5] != header:
            raise Damaged(f"{name}: bad header")
        try:
            return self.aead.decrypt(data[5:17], data[17:], header + name.encode("ascii"))
        except InvalidTag:
            raise Damaged(f"{name}: damaged or tampered with") from None

    def unframe(self, name: str, payload: bytes) -> bytes:
        """Flag byte 0 = plain, 1 = one zstd frame (config, header, index, snapshot)."""
        if not payload:
            raise Damaged(f"{name}: empty payload")
        if payload[0] == 0:
            return payload[1:]
        if payload[0] == 1:
            try:
                return self.dctx.decompress(payload[1:], max_output_size=MAX_RAW)
            except zstandard.ZstdError as exc:
                raise Damaged(f"{name}: bad compressed data ({exc})") from None
        raise Damaged(f"{name}: unknown compression flag {payload[0]}")

    def load_object(self, obj_type: int, name: str) -> bytes:
        return self.unframe(name, self.open_object(obj_type, name, self.read(name)))

    # --- index ---

    def load_index(self) -> list[str]:
        """Read every index object; returns the problems (a damaged index is skipped)."""
        problems: list[str] = []
        for name in self.list_names("index/", HEX64):
            try:
                self._add_index(name, self.load_object(T_INDEX, name))
            except (Damaged, OSError) as exc:
                problems.append(str(exc))
        return problems

    def _add_index(self, name: str, data: bytes) -> None:
        if len(data) < 5 or data[0] != 1:
            raise Damaged(f"{name}: unknown index version")
        (count,) = U32.unpack_from(data, 1)
        pos = 5
        for _ in range(count):
            if pos + ID_LEN > len(data):
                raise Damaged(f"{name}: truncated")
            pack_id = data[pos : pos + ID_LEN]
            pos = self._add_entries(name, pack_id, data, pos + ID_LEN)
        if pos != len(data):
            raise Damaged(f"{name}: trailing bytes")

    def _add_entries(self, name: str, pack_id: bytes, data: bytes, pos: int) -> int:
        if pos + 4 > len(data):
            raise Damaged(f"{name}: truncated entry table")
        count: int = U32.unpack_from(data, pos)[0]
        pos += 4
        end: int = pos + count * ENTRY.size
        if end > len(data):
            raise Damaged(f"{name}: truncated entry table")
        for i in range(count):
            type_byte, blob_id, offset, length, raw = ENTRY.unpack_from(data, pos + i * ENTRY.size)
            if type_byte not in VALID_BLOB_TYPES or length < NONCE_LEN + TAG_LEN or raw > MAX_RAW:
                raise Damaged(f"{name}: impossible blob entry")
            self.index.setdefault(blob_id, (type_byte, pack_id, offset, length, raw))
        return end

    def scan_pack_headers(self) -> list[str]:
        """Rebuild locations from every pack's own header (FORMAT.md section 7)."""
        self.scanned_packs = True
        problems: list[str] = []
        for name in self.list_names("data/", HEX64):
            try:
                size = os.path.getsize(self.path(name))
                if size < 4 + 33:
                    raise Damaged(f"{name}: truncated")
                (header_len,) = U32.unpack(self.read(name, size - 4, 4))
                if not 33 <= header_len <= size - 4:
                    raise Damaged(f"{name}: bad header length")
                sealed = self.read(name, size - 4 - header_len, header_len)
                table = self.unframe(name, self.open_object(T_PACK_HEADER, name, sealed))
                before = dict(self.index)
                end = self._add_entries(name, bytes.fromhex(name.rsplit("/", 1)[1]), table, 0)
                if end != len(table):
                    self.index = before
                    raise Damaged(f"{name}: bad header")
            except (Damaged, OSError) as exc:
                problems.append(str(exc))
        return problems

    # --- blobs ---

    def read_blob(self, blob_id: bytes, kind: int) -> bytes:
        """Fetch, authenticate, decompress and length-check one blob."""
        found = self.index.get(blob_id)
        if found is None and not self.scanned_packs:
            for problem in self.scan_pack_headers():
                warn(problem)
            found = self.index.get(blob_id)
        if found is None:
            raise Damaged(f"chunk {blob_id.hex()[:16]} is in no index or pack")
        type_byte, pack_id, offset, length, raw_length = found
        if type_byte & ~COMPRESSED != kind:
            raise Damaged(f"chunk {blob_id.hex()[:16]} has the wrong kind")
        hexid = pack_id.hex()
        pack = f"data/{hexid[:2]}/{hexid}"
        try:
            sealed = self.read(pack, offset, length)
        except FileNotFoundError:
            raise Damaged(f"{pack} is missing") from None
        assert self.aead is not None
        try:
            plain = self.aead.decrypt(
                sealed[:NONCE_LEN], sealed[NONCE_LEN:], BLOB_MAGIC + bytes([type_byte]) + blob_id
            )
        except InvalidTag:
            raise Damaged(f"chunk {blob_id.hex()[:16]} in {pack} is damaged") from None
        if type_byte & COMPRESSED:
            try:
                plain = self.dctx.decompress(plain, max_output_size=max(raw_length, 1))
            except zstandard.ZstdError as exc:
                raise Damaged(f"chunk {blob_id.hex()[:16]}: bad compressed data ({exc})") from None
        if len(plain) != raw_length:
            raise Damaged(f"chunk {blob_id.hex()[:16]} has the wrong length")
        if (self.verify_ids or kind == KIND_TREE) and not hmac.compare_digest(
            blake3(plain, self.id_key), blob_id
        ):
            raise Damaged(f"chunk {blob_id.hex()[:16]} does not match its id")
        return plain

    def load_tree(self, tree_id: bytes, *, part: bool = False) -> list[dict[str, Any]]:
        try:
            doc = json.loads(self.read_blob(tree_id, KIND_TREE))
        except ValueError as exc:
            raise Damaged(f"tree {tree_id.hex()[:16]} is not JSON") from exc
        if isinstance(doc, dict) and doc.get("v") == 2 and not part:
            # A folder split into parts (FORMAT.md section 9.1): join them in order.
            ids = doc.get("parts")
            if not isinstance(ids, list) or not all(HEX64.match(str(i)) for i in ids):
                raise Damaged(f"tree {tree_id.hex()[:16]} has a bad parts list")
            joined: list[dict[str, Any]] = []
            for part_id in ids:
                joined.extend(self.load_tree(bytes.fromhex(part_id), part=True))
            return joined
        if not isinstance(doc, dict) or doc.get("v") != 1 or not isinstance(doc.get("nodes"), list):
            raise Damaged(f"tree {tree_id.hex()[:16]} has an unknown format")
        for node in doc["nodes"]:
            if not isinstance(node, dict) or node.get("type") not in ("file", "dir", "symlink"):
                raise Damaged(f"tree {tree_id.hex()[:16]} has a bad entry")
        nodes: list[dict[str, Any]] = doc["nodes"]
        return nodes

    # --- snapshots ---

    def snapshots(self) -> list[tuple[str, dict[str, Any]]]:
        """(id, document) of every readable snapshot, oldest first."""
        out = []
        for name in self.list_names("snapshots/", HEX64):
            try:
                doc = json.loads(self.load_object(T_SNAPSHOT, name))
                if not isinstance(doc, dict) or not HEX64.match(str(doc.get("tree", ""))):
                    raise Damaged(f"{name}: bad snapshot")
                out.append((name.split("/", 1)[1], doc))
            except (Damaged, ValueError, OSError) as exc:
                warn(f"skipping {name}: {exc}")
        out.sort(key=lambda item: (snapshot_time(item[1]), item[0]))
        return out


def snapshot_time(doc: dict[str, Any]) -> datetime:
    """The snapshot's ``time`` as an aware datetime (the oldest possible if unreadable)."""
    try:
        value = datetime.fromisoformat(str(doc.get("time")))
    except ValueError:
        return datetime.min.replace(tzinfo=_UTC)
    return value if value.tzinfo else value.replace(tzinfo=_UTC)


# --- Restoring (FORMAT.md sections 9 and 13) ----------------------------------------


def node_name(node: dict[str, Any], key: str) -> bytes:
    """A name as raw bytes: ``key`` (UTF-8 text) or ``key_b64`` (base64 of the bytes)."""
    if key in node:
        value = node[key]
        if not isinstance(value, str):
            raise Damaged(f"bad {key}")
        try:
            return value.encode("utf-8")
        except UnicodeEncodeError:
            raise Damaged(f"bad {key}") from None
    try:
        return b64d(node.get(key + "_b64"))
    except ValueError:
        raise Damaged(f"bad {key}") from None


def safe_name(name: bytes) -> bool:
    return bool(name) and name not in (b".", b"..") and b"/" not in name and b"\0" not in name


_DIR_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


class Restorer:
    """Writes below the target only through folder descriptors.

    Every folder is opened relative to its parent's descriptor with ``O_NOFOLLOW``;
    every file, link and rename is made relative to the descriptor of the folder it
    lives in; modes and times are set on descriptors (``fchmod``, ``futimens``).
    Nothing is ever done by path below the target, so whoever owns the target (or a
    folder in it) cannot swap a folder for a link between our check and our write:
    writes land in the folder we opened, and a link found later is refused, never
    written or chmod-ed through (when run as root, a swapped link must not make us
    chmod /etc 1777). Needs ``dir_fd`` support: Linux, macOS, the BSDs.
    """

    def __init__(self, vault: Vault, target: bytes) -> None:
        self.vault = vault
        self.target = target
        self.root_fd = os.open(target, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        self.problems: list[str] = []
        self.dirs: list[tuple[list[bytes], dict[str, Any]]] = []
        self.links: list[tuple[list[bytes], bytes, dict[str, Any]]] = []
        self.files = 0

    def close(self) -> None:
        os.close(self.root_fd)

    def problem(self, path: bytes, message: str) -> None:
        self.problems.append(f"{os.fsdecode(path) or '/'}: {message}")

    def dest(self, parts: list[bytes]) -> bytes:
        return os.path.join(self.target, *parts) if parts else self.target

    def open_dir(self, parent_fd: int, name: bytes, create: bool) -> int:
        """The folder ``name`` in ``parent_fd`` (made 0700 if missing), never a link."""
        if create:
            with contextlib.suppress(FileExistsError):
                os.mkdir(name, 0o700, dir_fd=parent_fd)
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                raise Refused(
                    f"{os.fsdecode(name)} is not a folder (a link or a file); "
                    "refusing to write through it"
                ) from None
            raise

    @contextlib.contextmanager
    def folder(self, parts: list[bytes], create: bool) -> Iterator[int]:
        """A descriptor of the folder at ``parts`` below the target, reached one
        name at a time from the target's descriptor without following links."""
        fd = os.dup(self.root_fd)
        try:
            for name in parts:
                inner = self.open_dir(fd, name, create)
                os.close(fd)
                fd = inner
            yield fd
        finally:
            os.close(fd)

    def restore_selection(self, parts: list[bytes], node: dict[str, Any]) -> None:
        """Restore ``node`` (at ``parts``), making the folders it lives in."""
        original = b"/" + b"/".join(parts)
        try:
            if node["type"] == "dir":
                with self.folder(parts, create=True) as fd:
                    self.dirs.append((parts, node))
                    self.restore_tree(parts, node, fd)
            else:
                with self.folder(parts[:-1], create=True) as fd:
                    self.restore_leaf(fd, parts, node)
        except (Damaged, Refused, OSError, ValueError) as exc:
            self.problem(original, f"not restored: {exc}")

    def restore_tree(self, parts: list[bytes], node: dict[str, Any], fd: int) -> None:
        """Everything below the folder ``node``, already open as ``fd``; depth first
        with an explicit stack (no recursion limit), one open descriptor per level."""
        stack: list[
            tuple[list[bytes], int, Iterator[tuple[bytes, dict[str, Any]]], tuple[bytes, ...]]
        ] = []
        first = self.children(parts, node, ())
        if first is None:
            return
        stack.append((parts, os.dup(fd), first[0], first[1]))
        try:
            while stack:
                dir_parts, dir_fd, children, trail = stack[-1]
                child = next(children, None)
                if child is None:
                    os.close(dir_fd)
                    stack.pop()
                    continue
                name, entry = child
                child_parts = [*dir_parts, name]
                original = b"/" + b"/".join(child_parts)
                try:
                    if entry["type"] != "dir":
                        self.restore_leaf(dir_fd, child_parts, entry)
                        continue
                    if len(child_parts) > MAX_DEPTH:
                        self.problem(original, "refused: nesting too deep")
                        continue
                    listed = self.children(child_parts, entry, trail)
                    if listed is None:
                        continue
                    sub_fd = self.open_dir(dir_fd, name, create=True)
                    self.dirs.append((child_parts, entry))
                    stack.append((child_parts, sub_fd, listed[0], listed[1]))
                except (Damaged, Refused, OSError, ValueError) as exc:
                    self.problem(original, f"not restored: {exc}")
        finally:
            for _, dir_fd, _, _ in stack:
                os.close(dir_fd)

    def children(
        self, parts: list[bytes], node: dict[str, Any], trail: tuple[bytes, ...]
    ) -> tuple[Iterator[tuple[bytes, dict[str, Any]]], tuple[bytes, ...]] | None:
        """The safe, distinct entries of folder ``node`` (problems noted), or None."""
        original = b"/" + b"/".join(parts)
        try:
            tree_id = bytes.fromhex(str(node.get("subtree", "")))
            if len(tree_id) != ID_LEN or tree_id in trail:
                raise Refused("bad or cyclic folder entry")
            nodes = self.vault.load_tree(tree_id)
        except (Damaged, Refused, ValueError) as exc:
            self.problem(original, f"not restored: {exc}")
            return None
        entries: list[tuple[bytes, dict[str, Any]]] = []
        seen: set[bytes] = set()
        for child in nodes:
            try:
                name = node_name(child, "name")
            except Damaged as exc:
                self.problem(original, f"entry refused: {exc}")
                continue
            if not safe_name(name) or name in seen:
                self.problem(original + b"/" + name.replace(b"/", b"%2F"), "refused: unsafe name")
                continue
            seen.add(name)
            entries.append((name, child))
        return iter(entries), (*trail, tree_id)

    def restore_leaf(self, dir_fd: int, parts: list[bytes], node: dict[str, Any]) -> None:
        original = b"/" + b"/".join(parts)
        try:
            if node["type"] == "file":
                self.restore_file(dir_fd, parts[-1], node)
            else:  # links last, so none exists while files are written
                self.links.append((parts, node_name(node, "target"), node))
        except (Damaged, Refused, OSError, ValueError) as exc:
            self.problem(original, f"not restored: {exc}")

    def restore_file(self, dir_fd: int, name: bytes, node: dict[str, Any]) -> None:
        ids = [bytes.fromhex(h) for h in node.get("content", [])]
        tmp = (TMP_PREFIX + secrets.token_hex(6)).encode()
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(tmp, flags, 0o600, dir_fd=dir_fd)
        try:
            written = 0
            with os.fdopen(fd, "wb", closefd=True) as out:
                for blob_id in ids:
                    chunk = self.vault.read_blob(blob_id, KIND_DATA)
                    out.write(chunk)
                    written += len(chunk)
                if written != int(node.get("size", written)):
                    raise Damaged("its size does not match the snapshot")
                out.flush()
                os.fchmod(out.fileno(), int(node.get("mode", 0o644)) & 0o1777)  # never setuid/gid
                mtime = int(node.get("mtime_ns", 0))
                os.utime(out.fileno(), ns=(mtime, mtime))
            # In the folder we opened; replaces a link in the way itself, never its target.
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            self.files += 1
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise

    def finish(self) -> None:
        """Links after files, then folder modes and times deepest first, each on a
        descriptor reached again from the target without following links."""
        for parts, target, node in self.links:
            try:
                with self.folder(parts[:-1], create=False) as fd:
                    tmp = (TMP_PREFIX + secrets.token_hex(6)).encode()
                    os.symlink(target, tmp, dir_fd=fd)
                    mtime = int(node.get("mtime_ns", 0))
                    with contextlib.suppress(OSError, NotImplementedError):
                        os.utime(tmp, ns=(mtime, mtime), dir_fd=fd, follow_symlinks=False)
                    os.replace(tmp, parts[-1], src_dir_fd=fd, dst_dir_fd=fd)
            except (OSError, Refused) as exc:
                self.problem(self.dest(parts), f"link not created: {exc}")
        for parts, node in reversed(self.dirs):
            try:
                with self.folder(parts, create=False) as fd:
                    os.fchmod(fd, int(node.get("mode", 0o755)) & 0o1777)
                    mtime = int(node.get("mtime_ns", 0))
                    if mtime:
                        os.utime(fd, ns=(mtime, mtime))
            except Refused as exc:
                self.problem(self.dest(parts), f"mode not set: {exc}")
            except (OSError, ValueError, TypeError):
                continue


def resolve(vault: Vault, root: str, path: str) -> dict[str, Any] | None:
    """The node at absolute ``path`` inside the snapshot, or None."""
    node: dict[str, Any] = {"type": "dir", "subtree": root, "mode": 0o755, "mtime_ns": 0}
    for part in (p for p in os.fsencode(os.path.normpath(path)).split(b"/") if p):
        if node["type"] != "dir":
            return None
        matches = [
            n
            for n in vault.load_tree(bytes.fromhex(node["subtree"]))
            if node_name(n, "name") == part
        ]
        if not matches:
            return None
        node = matches[0]
    return node


# --- Command line -------------------------------------------------------------------


def allow_open_folders(count: int) -> None:
    """Raise the soft limit on open descriptors to ``count`` if the hard one allows."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < count:
        wanted = count if hard == resource.RLIM_INFINITY else min(count, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def warn(message: str) -> None:
    print(f"keepsake-recover: {message}", file=sys.stderr)


def get_secret(args: argparse.Namespace) -> tuple[str, str]:
    recovery = os.environ.get("KEEPSAKE_RECOVERY_KEY")
    if recovery:
        return canonical_recovery_key(recovery), "recovery"
    if args.recovery_key:
        return canonical_recovery_key(getpass.getpass("Recovery key: ")), "recovery"
    password = os.environ.get("KEEPSAKE_PASSWORD")
    if password:
        return password, "passphrase"
    return getpass.getpass("Passphrase: "), "passphrase"


def choose(snaps: list[tuple[str, dict[str, Any]]], ref: str) -> tuple[str, dict[str, Any]]:
    if not snaps:
        raise Damaged("the vault has no readable snapshot")
    if ref == "latest":
        return snaps[-1]
    ref = ref.lower()
    exact = [s for s in snaps if s[0] == ref]
    matches = exact or ([s for s in snaps if s[0].startswith(ref)] if len(ref) >= 8 else [])
    if len(matches) != 1:
        what = "is ambiguous" if matches else "matches no snapshot (give 8+ characters)"
        raise Refused(f"snapshot {ref!r} {what}")
    return matches[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="keepsake-recover", description="Restore from a Keepsake vault without Keepsake."
    )
    parser.add_argument("vault", help="the vault folder (a local copy)")
    parser.add_argument("snapshot", nargs="?", help="snapshot id, 8+ character prefix, or latest")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="only these original paths")
    parser.add_argument("--target", help="folder to restore into")
    parser.add_argument("--list", action="store_true", help="list snapshots and exit")
    parser.add_argument("--recovery-key", action="store_true", help="prompt for the recovery key")
    parser.add_argument("--verify-ids", action="store_true", help="also recompute chunk ids (slow)")
    args = parser.parse_args(argv)
    if not args.list and (not args.snapshot or not args.target):
        parser.error("give SNAPSHOT and --target DIR (or --list)")
    vault = Vault(args.vault)
    vault.verify_ids = args.verify_ids
    try:
        if not os.path.isfile(vault.path("config")):
            raise Refused(f"{args.vault} is not a Keepsake vault (no config)")
        secret, kind = get_secret(args)
        keys = unlock(vault, secret, kind)
        vault.set_keys(keys)
        config = json.loads(vault.load_object(T_CONFIG, "config"))
        if config.get("version") != 1:
            raise Refused(f"vault format {config.get('version')} is not supported (only 1)")
        if config.get("vault_id") != keys.vault_id:
            raise Damaged("config and keys belong to different vaults")
        snaps = vault.snapshots()
        if args.list:
            for snap_id, doc in snaps:
                paths = ", ".join(str(p) for p in doc.get("paths", []))
                print(f"{snap_id[:8]}  {doc.get('time')}  {doc.get('hostname', '')}  {paths}")
            return EXIT_OK
        snap_id, doc = choose(snaps, args.snapshot)
        for problem in vault.load_index():
            warn(f"{problem} (will read pack headers instead)")
        target = os.path.normpath(os.fsencode(os.path.abspath(args.target)))
        os.makedirs(target, exist_ok=True)
        if os.open not in os.supports_dir_fd:
            raise Refused("this tool needs a POSIX system (Linux, macOS, BSD; on Windows: WSL)")
        allow_open_folders(MAX_DEPTH + 64)  # one descriptor per level while restoring
        restorer = Restorer(vault, target)
        try:
            for selection in args.paths or ["/"]:
                parts = [p for p in os.fsencode(os.path.normpath(selection)).split(b"/") if p]
                if not all(safe_name(p) for p in parts):
                    raise Refused(f"{selection} is not a safe path")
                node = resolve(vault, str(doc["tree"]), selection)
                if node is None:
                    raise Refused(f"{selection} is not in snapshot {snap_id[:8]}")
                restorer.restore_selection(parts, node)
            restorer.finish()
        finally:
            restorer.close()
    except WrongSecret as exc:
        warn(f"error: {exc}")
        return EXIT_WRONG_SECRET
    except (Damaged, Refused, OSError, ValueError, KeyError) as exc:
        warn(f"error: {exc}")
        return EXIT_ERROR
    for problem in restorer.problems:
        warn(problem)
    print(
        f"Restored {restorer.files} files from snapshot {snap_id[:8]} into {args.target}.",
        file=sys.stderr,
    )
    return EXIT_ERROR if restorer.problems else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
