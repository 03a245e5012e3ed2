"""Copy a vault object for object to another storage (same keys, same passphrase).

Why: Settings › Storage › *Change location…* moves a backup to a new drive, to
Dropbox or to S3 with all its history. Unlike ``app.engine.copy`` (new master keys,
every blob re-encrypted) nothing is decrypted here: the sealed objects travel as
they are, so the passphrase and the recovery key stay valid and the cost is one
read and one write of each object.

Order (docs/FORMAT.md write ordering): packs, then index objects, then keys and
snapshots, and ``config`` last. A vault is "there" only once ``config`` is, so an
interrupted mirror never looks like a vault; running it again skips the objects
already copied (same name and size) and goes on. Lock objects are not copied.
A shared lock on the source keeps a prune elsewhere from deleting packs mid-copy.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.cancel import NEVER_CANCELLED, CancelToken
from app.core.errors import AppError, ErrorCode, NotFoundInStorage
from app.core.events import Phase, Progress, ProgressCallback, ignore_progress
from app.engine.locks import VaultLock
from app.engine.names import list_objects
from app.engine.repository import Repository
from app.storage.base import ObjectInfo, Storage

# Copied in this order; "config" is written after all of them.
ORDER = ("data/", "index/", "keys/", "snapshots/")


@dataclass(frozen=True, slots=True)
class MirrorResult:
    objects: int  # copied now (objects already there from an interrupted run excluded)
    bytes_copied: int


def _exists(storage: Storage, name: str) -> bool:
    try:
        storage.stat(name)
    except NotFoundInStorage:
        return False
    return True


def mirror_vault(
    source: Repository,
    dest: Storage,
    *,
    on_progress: ProgressCallback = ignore_progress,
    cancel: CancelToken = NEVER_CANCELLED,
) -> MirrorResult:
    """Copy every object of ``source`` into ``dest`` (an empty place, or one an
    interrupted mirror left without ``config``). Raises ``AppError`` with
    ``VAULT_EXISTS`` when ``dest`` already holds a vault."""
    if _exists(dest, "config"):
        raise AppError(
            f"{dest.description} already holds a Keepsake backup; connect it instead, "
            "or choose another place.",
            code=ErrorCode.VAULT_EXISTS,
        )
    storage = source.storage
    with VaultLock(storage, source.cipher, exclusive=False):
        todo: list[ObjectInfo] = []
        for prefix in ORDER:
            todo.extend(sorted(list_objects(storage, prefix), key=lambda i: i.name))
        config = storage.stat("config")
        have: dict[str, int] = {}
        for prefix in ORDER:
            have.update({i.name: i.size for i in dest.list(prefix)})
        total = sum(i.size for i in todo) + config.size
        done_bytes = copied_bytes = objects = 0
        for info in todo:
            cancel.check()
            if have.get(info.name) != info.size:
                dest.put(info.name, storage.get(info.name))
                copied_bytes += info.size
                objects += 1
            done_bytes += info.size
            on_progress(
                Progress(
                    Phase.COPYING,
                    files_done=objects,
                    files_total=len(todo) + 1,
                    bytes_done=done_bytes,
                    bytes_total=total,
                )
            )
        cancel.check()
        dest.put("config", storage.get("config"))  # last: now it is a vault
    total_objects = objects + 1
    on_progress(
        Progress(
            Phase.DONE,
            files_done=len(todo) + 1,
            files_total=len(todo) + 1,
            bytes_done=total,
            bytes_total=total,
            final=True,
        )
    )
    return MirrorResult(total_objects, copied_bytes + config.size)
