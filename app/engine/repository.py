"""The repository: a vault's objects in storage, read and written with its keys.

Layout in storage (docs/FORMAT.md): ``config``, ``keys/*``, ``data/xx/<pack>``,
``index/*``, ``snapshots/*``, ``locks/*``. A ``Repository`` holds the unlocked keys
for its lifetime (derived once per process) and a local cache it syncs from storage.
It owns every read and write of a vault object (keys, config, index, snapshots,
blobs and trees); the jobs (backup, restore, check, prune, versions) are built on
it, as restic's are on its ``Repository``, and never on the ``Vault`` facade.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from app.core.errors import (
    AppError,
    ErrorCode,
    NotFoundInStorage,
    StorageUnavailableError,
    VaultCorruptError,
    VaultNotFoundError,
    WrongPasswordError,
)
from app.core.models import DamagedSnapshot, SnapshotInfo, VaultStats
from app.core.paths import cache_dir
from app.engine import codec
from app.engine.cache import Cache
from app.engine.chunker import ChunkerParams
from app.engine.crypto import (
    B_COMPRESSED,
    B_KIND_MASK,
    B_TREE,
    T_CONFIG,
    T_INDEX,
    T_PACK_HEADER,
    T_SNAPSHOT,
    Cipher,
    MasterKeys,
    new_recovery_key,
    normalize_recovery_key,
    parse_key_object,
    unlock_master_keys,
    wrap_master_keys,
)
from app.engine.idset import BlobIdSet
from app.engine.names import list_objects
from app.engine.packer import pack_name
from app.engine.tree import Node
from app.storage.base import Storage

_Row = TypeVar("_Row", Node, codec.FileRow | Node)  # what a listing decodes to

FORMAT_VERSION = 1
TREE_CACHE_SIZE = 4096
#: Sealed index bytes stored per ``put_many`` when several index objects are written.
INDEX_BATCH_BYTES = 32 * 1024 * 1024
# Cache-only index entries read from pack headers are recorded under this prefix
# (never a storage name: they are rebuilt, not synced).
HEADERS_PREFIX = "headers:"


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def snapshot_info(snap_id: str, doc: dict[str, Any]) -> SnapshotInfo:
    """A snapshot object's JSON as the public record."""
    return SnapshotInfo(
        id=snap_id,
        time=parse_time(str(doc["time"])),
        hostname=str(doc.get("hostname", "")),
        device_id=str(doc.get("device_id", "")),
        paths=tuple(str(p) for p in doc.get("paths", [])),
        files=int(doc.get("files", 0)),
        bytes=int(doc.get("bytes", 0)),
        tree=str(doc["tree"]),
        tags=tuple(str(t) for t in doc.get("tags", [])),
    )


def _unlock(storage: Storage, secret: str, kind: str) -> MasterKeys:
    docs = []
    for info in list_objects(storage, "keys/"):
        try:
            docs.append(parse_key_object(storage.get(info.name)))
        except (VaultCorruptError, NotFoundInStorage):
            continue
    return unlock_master_keys(docs, secret, kind)


class Repository:
    def __init__(
        self,
        storage: Storage,
        keys: MasterKeys,
        config: dict[str, Any],
        cache_root: Path | None,
        *,
        cache: Cache | None = None,
    ) -> None:
        self.storage = storage
        self.cipher = Cipher(keys)
        self.keys = keys
        self.config = config
        self.id = keys.vault_id
        if cache is None:
            root = cache_root if cache_root is not None else cache_dir()
            cache = Cache(root / self.id / "cache.sqlite")
        self.cache = cache
        chunker = config["chunker"]
        self.chunker_params = ChunkerParams(
            int(chunker["min_size"]),
            int(chunker["avg_size"]),
            int(chunker["max_size"]),
            int(chunker["seed"]),
        )
        self.pack_size = int(config.get("pack_size", 16 * 1024 * 1024))
        self._trees: OrderedDict[bytes, list[Node]] = OrderedDict()
        # Split folders seen by load_tree: tree id -> its parts' ids (blobs prune must
        # keep along with the tree).
        self.tree_parts: dict[bytes, tuple[bytes, ...]] = {}
        self._blob_ids: BlobIdSet | None = None
        self._synced = False
        self._headers_scanned = False
        self.index_problems: list[str] = []
        self.damaged_indexes: set[str] = set()  # index objects that cannot be read
        self.unreadable_packs: set[bytes] = set()  # their headers neither (last scan)
        self._damaged_snapshots: dict[str, str] = {}  # id -> why it cannot be read

    # --- lifecycle -------------------------------------------------------------------

    @property
    def description(self) -> str:
        return self.storage.description

    @classmethod
    def create(
        cls,
        storage: Storage,
        passphrase: str,
        cache_root: Path | None = None,
        *,
        like: dict[str, Any] | None = None,
    ) -> tuple[Repository, str]:
        """Write a new vault (keys first, config last) and return it with its recovery key.

        ``like``: another vault's config whose chunker and pack size to reuse (a copy
        into new keys, so later backups find the copied chunks).
        """
        try:
            storage.stat("config")
        except NotFoundInStorage:
            pass
        else:
            raise AppError(
                f"There is already a Keepsake vault at {storage.description}.",
                code=ErrorCode.VAULT_EXISTS,
            )
        if not passphrase:
            raise AppError("Choose a passphrase to protect the vault.", code=ErrorCode.USAGE)
        keys = MasterKeys.generate()
        recovery = new_recovery_key()
        storage.put(
            f"keys/{secrets.token_hex(16)}", wrap_master_keys(keys, passphrase, "passphrase")
        )
        storage.put(f"keys/{secrets.token_hex(16)}", wrap_master_keys(keys, recovery, "recovery"))
        config = {
            "version": FORMAT_VERSION,
            "vault_id": keys.vault_id,
            "created": datetime.now(UTC).isoformat(),
            "chunker": {
                "algorithm": "fastcdc2020",
                "min_size": 256 * 1024,
                "avg_size": 1024 * 1024,
                "max_size": 4 * 1024 * 1024,
                "seed": secrets.randbelow(2**31 - 1) + 1,
            },
            "pack_size": 16 * 1024 * 1024,
            "blob_id": "blake3-keyed",
            "cipher": "aes-256-gcm",
            "compression": "zstd",
        }
        if like is not None:
            config["chunker"] = dict(like["chunker"])
            config["pack_size"] = int(like.get("pack_size", config["pack_size"]))
        cipher = Cipher(keys)
        storage.put(
            "config",
            cipher.seal_object(
                T_CONFIG, "config", codec.encode_payload(json.dumps(config).encode())
            ),
        )
        return cls(storage, keys, config, cache_root), recovery

    @classmethod
    def open(
        cls,
        storage: Storage,
        *,
        passphrase: str | None = None,
        recovery_key: str | None = None,
        cache_root: Path | None = None,
    ) -> Repository:
        try:
            sealed_config = storage.get("config")
        except NotFoundInStorage:
            raise VaultNotFoundError(
                f"There is no Keepsake vault at {storage.description}. "
                "Check the location, or create one with 'keepsake init'."
            ) from None
        except StorageUnavailableError:
            raise VaultNotFoundError(
                f"There is no Keepsake vault at {storage.description} "
                "(the folder is missing: is the drive connected?)."
            ) from None
        if recovery_key is not None:
            secret, kind = normalize_recovery_key(recovery_key), "recovery"
        elif passphrase is not None:
            secret, kind = passphrase, "passphrase"
        else:
            raise WrongPasswordError("A passphrase or recovery key is needed to open the vault.")
        keys = _unlock(storage, secret, kind)
        cipher = Cipher(keys)
        config = json.loads(
            codec.decode_payload(cipher.open_object(T_CONFIG, "config", sealed_config))
        )
        if config.get("version") != FORMAT_VERSION:
            raise AppError(
                f"This vault uses format version {config.get('version')}; "
                "a newer Keepsake is needed to open it.",
                code=ErrorCode.VAULT_UNSUPPORTED,
            )
        if config.get("vault_id") != keys.vault_id:
            raise VaultCorruptError("The vault's config does not match its keys.")
        return cls(storage, keys, config, cache_root)

    def close(self) -> None:
        self.cache.close()

    def beside(self, cache: Cache) -> Repository:
        """Another repository on the same storage and keys (both thread-safe) over
        ``cache``, with its own tree cache, for another thread. It never syncs: this
        one does, and the shared cache file shows it."""
        other = Repository(self.storage, self.keys, self.config, None, cache=cache)
        other._synced = True
        return other

    # --- key management -------------------------------------------------------------------

    def replace_key(self, kind: str, secret: str) -> None:
        """Add a key of ``kind`` for ``secret``, then remove the old ones (never zero keys)."""
        old = []
        for info in list_objects(self.storage, "keys/"):
            try:
                if parse_key_object(self.storage.get(info.name)).get("kind") == kind:
                    old.append(info.name)
            except VaultCorruptError:
                continue
        name = f"keys/{secrets.token_hex(16)}"
        self.storage.put(name, wrap_master_keys(self.keys, secret, kind))
        for old_name in old:
            self.storage.delete(old_name)

    # --- syncing the cache with storage -------------------------------------------------

    def sync(self, *, force: bool = False) -> None:
        """Bring the cache up to date with the vault's index and snapshot objects."""
        if self._synced and not force:
            return
        self._sync_indexes()
        self._sync_snapshots()
        self._synced = True

    def _sync_indexes(self) -> None:
        names = {info.name for info in list_objects(self.storage, "index/")}
        known = {n for n in self.cache.known_indexes() if not n.startswith(HEADERS_PREFIX)}
        self.damaged_indexes = set()
        self.unreadable_packs = set()
        self.cache.begin()
        try:
            cleared = bool(known - names)
            if cleared:  # something was pruned: rebuild the index from scratch
                self.cache.clear_index()
                known = set()
            missing = sorted(names - known)
            with ThreadPoolExecutor(max_workers=4) as pool:
                for name, packs in zip(missing, pool.map(self._read_index, missing), strict=True):
                    if packs is not None:
                        self.cache.add_index(name, packs)
                    else:
                        self.damaged_indexes.add(name)
            if self.damaged_indexes:
                # FORMAT.md section 13: what a damaged index described is in the pack
                # headers; read those of the packs no readable index names.
                self.index_from_pack_headers()
            self.cache.commit()
        except BaseException:
            self.cache.rollback()
            raise
        if cleared or missing:  # keep the in-memory id set when nothing changed
            self._blob_ids = None

    def index_from_pack_headers(self) -> set[bytes]:
        """Add to the cache the blobs of every pack no index names, from the pack's
        own header (a damaged or lost index object then loses nothing). Returns the
        packs whose header could not be read either. Writes nothing to the vault."""
        indexed = self.cache.pack_ids()
        unreadable: set[bytes] = set()
        for info in list_objects(self.storage, "data/"):
            pack_id = bytes.fromhex(info.name.rsplit("/", 1)[1])
            if pack_id in indexed:
                continue
            try:
                entries = self.read_pack_header(pack_id, info.size)
            except (VaultCorruptError, NotFoundInStorage):
                unreadable.add(pack_id)
                continue
            self.cache.add_index(HEADERS_PREFIX + pack_id.hex(), {pack_id: entries})
        self._blob_ids = None
        self.unreadable_packs = unreadable
        return unreadable

    def forget_packs(self, gone: set[bytes]) -> None:
        """Forget every location in packs that are not in storage. An index object
        put back after prune names such packs; deduplicating against them would
        commit snapshots whose data is gone, and reading from them fails."""
        self.cache.drop_packs(gone)
        self._blob_ids = None

    def _read_index(self, name: str) -> dict[bytes, list[codec.BlobEntry]] | None:
        try:
            raw = self.cipher.open_object(T_INDEX, name, self.storage.get(name))
            return codec.decode_index(codec.decode_payload(raw))
        except (VaultCorruptError, NotFoundInStorage) as exc:
            self.index_problems.append(f"{name}: {exc}")
            return None

    def write_index(self, packs: dict[bytes, list[codec.BlobEntry]], *, new: bool = False) -> int:
        """Store an index object naming ``packs`` (already written); returns its size.
        ``new``: the packs' blobs are new to the vault (a backup's own packs)."""
        return self.write_indexes([packs], new=new)

    def write_indexes(
        self, groups: Iterable[dict[bytes, list[codec.BlobEntry]]], *, new: bool = False
    ) -> int:
        """Store one index object per group (packs already written); returns the bytes.

        Objects written together go through ``put_many``: prune rewrites the whole
        index at once, and on a backend that commits a batch in one request (Dropbox
        serialises commits per folder) that is one commit instead of one per object.
        Batches are bounded by size so the sealed objects never pile up in memory.
        """
        total = 0
        batch: list[tuple[str, bytes, dict[bytes, list[codec.BlobEntry]]]] = []
        pending = 0
        for packs in groups:
            name = f"index/{secrets.token_hex(32)}"
            sealed = self.cipher.seal_object(
                T_INDEX, name, codec.encode_payload(codec.encode_index(packs))
            )
            batch.append((name, sealed, packs))
            pending += len(sealed)
            if pending >= INDEX_BATCH_BYTES:
                total += self._store_indexes(batch, new)
                batch, pending = [], 0
        if batch:
            total += self._store_indexes(batch, new)
        return total

    def _store_indexes(
        self, batch: list[tuple[str, bytes, dict[bytes, list[codec.BlobEntry]]]], new: bool
    ) -> int:
        if len(batch) == 1:
            self.storage.put(batch[0][0], batch[0][1])
        else:
            self.storage.put_many([(name, sealed) for name, sealed, _packs in batch])
        for name, _sealed, packs in batch:
            self.cache.add_index(name, packs)
            if self._blob_ids is not None:
                # A backup's own blobs are new to the vault (its sink skipped known
                # ones): appended without a lookup each. One another device indexed
                # meanwhile would sit twice in its bucket, harmlessly.
                add = self._blob_ids.extend_unique if new else self._blob_ids.update
                for entries in packs.values():
                    add(e.id for e in entries)
        return sum(len(sealed) for _name, sealed, _packs in batch)

    def _sync_snapshots(self) -> None:
        self._damaged_snapshots = {}
        names = {info.name.split("/", 1)[1] for info in list_objects(self.storage, "snapshots/")}
        cached = self.cache.snapshot_docs()
        self.cache.begin()
        try:
            for gone in set(cached) - names:
                self.cache.remove_snapshot(gone)
            missing = sorted(names - set(cached))
            with ThreadPoolExecutor(max_workers=4) as pool:
                for snap_id, doc in zip(
                    missing, pool.map(self._read_snapshot, missing), strict=True
                ):
                    if doc is not None:
                        self.cache.add_snapshot(snap_id, str(doc["time"]), json.dumps(doc))
            self.cache.commit()
        except BaseException:
            self.cache.rollback()
            raise

    def _read_snapshot(self, snap_id: str) -> dict[str, Any] | None:
        name = f"snapshots/{snap_id}"
        try:
            raw = self.cipher.open_object(T_SNAPSHOT, name, self.storage.get(name))
            doc: dict[str, Any] = json.loads(codec.decode_payload(raw))
            snapshot_info(snap_id, doc)  # every member the listing needs is readable
            return doc
        except NotFoundInStorage:
            return None  # forgotten meanwhile
        except (VaultCorruptError, ValueError, KeyError, TypeError) as exc:
            reason = str(exc) if isinstance(exc, VaultCorruptError) else "its content is damaged"
            self.index_problems.append(f"{name}: {reason}")
            self._damaged_snapshots[snap_id] = reason
            return None

    def damaged_snapshots(self) -> list[DamagedSnapshot]:
        """Snapshot objects that exist but cannot be read, as of the last sync.

        They are left out of ``snapshots()``; every command that lists or picks
        snapshots reports them, and ``latest`` refuses while there are any."""
        self.sync()
        return [DamagedSnapshot(i, r) for i, r in sorted(self._damaged_snapshots.items())]

    def write_snapshot(self, doc: dict[str, Any]) -> str:
        snap_id = secrets.token_hex(32)
        name = f"snapshots/{snap_id}"
        payload = codec.encode_payload(json.dumps(doc).encode())
        self.storage.put(name, self.cipher.seal_object(T_SNAPSHOT, name, payload))
        self.cache.add_snapshot(snap_id, str(doc["time"]), json.dumps(doc))
        return snap_id

    def blob_ids(self) -> BlobIdSet:
        if self._blob_ids is None:
            self._blob_ids = self.cache.blob_ids()
        return self._blob_ids

    def forget_blob_ids(self) -> None:
        """Drop the in-memory id set (after prune removed blobs); rebuilt on next use."""
        self._blob_ids = None

    # --- reading blobs, packs and trees --------------------------------------------------

    def read_blob(self, blob_id: bytes, expected_type: int | None = None) -> bytes:
        """Fetch, decrypt, decompress and verify one blob (never returns wrong bytes)."""
        while True:
            found = self.locate(blob_id)
            if found is None:
                raise VaultCorruptError(
                    f"Blob {blob_id.hex()[:16]} is missing from the vault index."
                )
            blob_type, pack, offset, length, raw_length = found
            if expected_type is not None and blob_type & B_KIND_MASK != expected_type:
                raise VaultCorruptError(f"Blob {blob_id.hex()[:16]} has the wrong type.")
            try:
                sealed = self.storage.get_range(pack_name(pack), offset, length)
            except NotFoundInStorage:
                self.pack_missing(pack)  # and try the blob's next location
                continue
            return self.open_sealed_blob(blob_type, blob_id, sealed, raw_length)

    def locate(self, blob_id: bytes) -> tuple[int, bytes, int, int, int] | None:
        """Where a blob is; when no index names it, the headers of unindexed packs
        are read once (a lost or damaged index object) before giving up."""
        found = self.cache.lookup_blob(blob_id)
        if found is None and not self._headers_scanned:
            self._headers_scanned = True
            self.index_from_pack_headers()
            found = self.cache.lookup_blob(blob_id)
        return found

    def pack_missing(self, pack: bytes) -> None:
        """A pack the index names is not in storage: forget its locations, so reads
        use another copy of its blobs (an index object put back after prune)."""
        self.forget_packs({pack})

    def open_sealed_blob(
        self, type_byte: int, blob_id: bytes, sealed: bytes | memoryview, raw_length: int
    ) -> bytes:
        plain = self.cipher.open_blob(type_byte, blob_id, sealed)
        if type_byte & B_COMPRESSED:
            plain = codec.decompress_blob(plain, raw_length)
        if len(plain) != raw_length or not self.cipher.verify_blob_id(blob_id, plain):
            raise VaultCorruptError(f"Blob {blob_id.hex()[:16]} does not match its id.")
        return plain

    def open_sealed_blob_into(
        self,
        type_byte: int,
        blob_id: bytes,
        sealed: bytes | memoryview,
        raw_length: int,
        out: memoryview,
        unpacked: memoryview | None = None,
    ) -> bytes | memoryview:
        """Like ``open_sealed_blob`` but decrypting into a reusable buffer (restore's
        hot path: no allocation and no page faults per chunk); a compressed blob is
        inflated into ``unpacked`` when given (a second reusable buffer)."""
        plain: bytes | memoryview = self.cipher.open_blob_into(type_byte, blob_id, sealed, out)
        if type_byte & B_COMPRESSED:
            if unpacked is not None:
                plain = codec.decompress_blob_into(plain, raw_length, unpacked)
            else:
                plain = codec.decompress_blob(bytes(plain), raw_length)
        if len(plain) != raw_length or not self.cipher.verify_blob_id(blob_id, plain):
            raise VaultCorruptError(f"Blob {blob_id.hex()[:16]} does not match its id.")
        return plain

    def read_pack_header(self, pack_id: bytes, size: int) -> list[codec.BlobEntry]:
        """The blob table at the end of a pack of ``size`` bytes, checked against it."""
        name = pack_name(pack_id)
        if size < 4 + 33:
            raise VaultCorruptError(f"{name} is truncated.")
        tail = self.storage.get_range(name, size - 4, 4)
        header_len = int.from_bytes(tail, "little")
        if header_len > size - 4 or header_len < 33:
            raise VaultCorruptError(f"{name} has a bad header length.")
        sealed = self.storage.get_range(name, size - 4 - header_len, header_len)
        entries, _ = codec.decode_entries(
            codec.decode_payload(self.cipher.open_object(T_PACK_HEADER, name, sealed))
        )
        codec.validate_pack_entries(entries, size - 4 - header_len)
        return entries

    def load_tree(self, tree_id: bytes, *, keep: bool = True) -> list[Node]:
        """A folder listing by id, verified and decoded (recently used ones are kept,
        unless ``keep`` is False: a reader that stores what it read elsewhere, such as
        the browser's catalog, would otherwise hold thousands of decoded trees, and
        the garbage collector would walk them all)."""
        cached = self._trees.get(tree_id)
        if cached is not None:
            self._trees.move_to_end(tree_id)
            return cached
        nodes = self._read_listing(tree_id, codec.decode_tree)
        if keep:
            self._trees[tree_id] = nodes
            if len(self._trees) > TREE_CACHE_SIZE:
                self._trees.popitem(last=False)
        return nodes

    def load_tree_rows(self, tree_id: bytes) -> list[codec.FileRow | Node]:
        """A folder listing with its files as ``codec.FileRow`` tuples instead of
        ``Node``s (a full restore decodes every file of the snapshot once; see
        ``codec.decode_tree_rows``). Verified like ``load_tree``; never kept."""
        return self._read_listing(tree_id, codec.decode_tree_rows)

    def _read_listing(self, tree_id: bytes, decode: Callable[[bytes], list[_Row]]) -> list[_Row]:
        raw = self.read_blob(tree_id, B_TREE)
        part_ids = codec.decode_tree_parts(raw)
        if part_ids is None:
            return decode(raw)
        rows: list[_Row] = []  # a split folder (docs/FORMAT.md section 9.1)
        for part_id in part_ids:
            part = self.read_blob(part_id, B_TREE)
            if codec.decode_tree_parts(part) is not None:
                raise VaultCorruptError("A part of a folder listing is itself split.")
            rows.extend(decode(part))
        codec.check_joined_order(rows)
        self.tree_parts[tree_id] = tuple(part_ids)
        return rows

    # --- snapshots ----------------------------------------------------------------------

    def snapshots(self) -> list[SnapshotInfo]:
        self.sync()
        infos = [
            snapshot_info(snap_id, json.loads(doc))
            for snap_id, doc in self.cache.snapshot_docs().items()
        ]
        infos.sort(key=lambda s: (s.time, s.id))
        return infos

    def find_snapshot(self, ref: str) -> SnapshotInfo:
        snaps = self.snapshots()
        if ref == "latest":
            damaged = self.damaged_snapshots()
            if damaged:
                # Its time is unreadable, so it may be the newest: never silently
                # mean an older backup (docs/FORMAT.md section 10).
                newest = (
                    f"The newest readable one is {snaps[-1].short_id} "
                    f"({snaps[-1].time.isoformat(timespec='seconds')}): ask for it by id. "
                    if snaps
                    else ""
                )
                names = ", ".join(d.short_id for d in damaged)
                raise AppError(
                    f"Snapshot {names} is damaged and cannot be read, so which backup is the "
                    f"latest is unknown. {newest}Run 'keepsake check' for details.",
                    code=ErrorCode.VAULT_CORRUPT,
                )
            if not snaps:
                raise AppError("The vault has no snapshots yet.", code=ErrorCode.SNAPSHOT_NOT_FOUND)
            return snaps[-1]
        ref = ref.lower()
        matches = [s for s in snaps if s.id == ref] or (
            [s for s in snaps if s.id.startswith(ref)] if len(ref) >= 8 else []
        )
        if not matches:
            if len(ref) < 8:
                raise AppError(
                    f"Snapshot id {ref!r} is too short: give at least 8 characters, or 'latest'.",
                    code=ErrorCode.SNAPSHOT_NOT_FOUND,
                )
            raise AppError(f"No snapshot {ref!r} in this vault.", code=ErrorCode.SNAPSHOT_NOT_FOUND)
        if len(matches) > 1:
            raise AppError(
                f"Snapshot prefix {ref!r} is ambiguous; give more characters.",
                code=ErrorCode.SNAPSHOT_AMBIGUOUS,
            )
        return matches[0]

    def stats(self) -> VaultStats:
        self.sync()
        stored = 0
        packs = 0
        for info in self.storage.list(""):
            stored += info.size
            if info.name.startswith("data/"):
                packs += 1
        return VaultStats(
            snapshots=len(self.cache.snapshot_docs()),
            packs=packs,
            stored_bytes=stored,
            blobs=self.cache.blob_count(),
        )
