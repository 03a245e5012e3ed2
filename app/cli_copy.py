"""``keepsake copy --to NEWREPO``: the whole history into a new vault with new keys.

The way out of the limit of ``key passwd`` (docs/USER_GUIDE.md, "Changing the
passphrase"): old key objects keep opening a vault whose master keys never change,
so a passphrase that leaked, or a key file kept in a sync tool's history, is locked
out only by data under new keys. The new vault gets its own passphrase
(``KEEPSAKE_NEW_PASSWORD`` or a prompt) and recovery key, printed once at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from app.cli_common import EXIT_OK, EXIT_SKIPPED, UsageError, err, new_passphrase, open_storage_for

if TYPE_CHECKING:
    from app.engine.vault import Vault


def run_copy(args: argparse.Namespace, source: Vault) -> int:
    from app.engine.vault import Vault
    from app.storage.factory import is_remote

    with source:
        to = str(args.to)
        if not is_remote(to):
            try:
                os.makedirs(os.path.expanduser(to), exist_ok=True)
            except OSError as exc:
                raise UsageError(f"cannot create the vault folder {to}: {exc.strerror}") from None
        storage = open_storage_for(to)
        passphrase = new_passphrase()
        dest, recovery = Vault.create(storage, passphrase, like=source.config)
        with dest:
            count = len(source.snapshots())
            print(
                f"Copying {count} snapshot(s) from {source.description} into a new vault "
                f"at {storage.description}; every blob is read and written once.",
                file=sys.stderr,
            )

            def progress(done: int, total: int) -> None:
                if sys.stderr.isatty():
                    print(f"\r  snapshot {done}/{total}", end="", file=sys.stderr, flush=True)

            result = source.copy_to(dest, on_snapshot=progress)
            if sys.stderr.isatty():
                print(file=sys.stderr)
    import humanize

    print(
        f"Copied {result.snapshots} snapshot(s): {result.blobs} blobs, "
        f"{humanize.naturalsize(result.bytes_copied, binary=True)} under new keys."
    )
    print()
    print("Recovery key of the NEW vault (shown only now; print it or store it somewhere safe):")
    print()
    print(f"    {recovery}")
    print()
    print("Next: point Keepsake (and your other computers) at the new vault, check it")
    print("('keepsake check --repo NEWREPO'), then delete the old vault everywhere,")
    print("including Dropbox's deleted-file history and any copies of the old drive.")
    err(f"note: the old vault at {source.description} is unchanged until you delete it")
    for warning in result.skipped:
        err(f"skipped {warning.path}: {warning.message}")
    return EXIT_SKIPPED if result.skipped else EXIT_OK
