"""The ``keepsake`` command (README.md "Command line" is the contract, and
tests/integration/test_cli_contract.py holds us to it: names, flags, exit codes and
JSON shapes are fixed because other tools rely on them).

Imports are lazy: ``keepsake --version`` and a local backup never load Qt or the
Dropbox SDK, which keeps start-up fast.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from app.cli_common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_SKIPPED,
    EXIT_USAGE,
    EXIT_WRONG_PASSWORD,
    UsageError,
    err,
    new_passphrase,
    open_storage_for,
)

if TYPE_CHECKING:
    from app.core.events import Progress
    from app.engine.vault import Vault


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"keepsake: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from app import __version__

    parser = _Parser(prog="keepsake", description="Encrypted, deduplicated backups of your files.")
    parser.add_argument("--version", action="version", version=f"keepsake {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, help_text: str, repo: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        if repo:
            p.add_argument(
                "--repo",
                metavar="REPO",
                help="vault: a folder path, dropbox:NAME or s3:BUCKET/PREFIX (default: $KEEPSAKE_REPO, then the desktop app's vault)",
            )
        return p

    p = add("gui", "Open the desktop app.", repo=False)
    p.add_argument("--minimized", action="store_true", help="start in the tray")
    p.add_argument(
        "--browse",
        nargs="?",
        const="",
        metavar="REPO",
        help="browse and restore from any vault, without changing this computer's settings",
    )
    add("init", "Create a new vault.")
    p = add("backup", "Back up files and folders.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="skip matching names or paths",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p = add("snapshots", "List snapshots.")
    p.add_argument("--json", action="store_true")
    p.add_argument(
        "--host",
        metavar="HOST",
        help="only snapshots from this computer (its name, or a prefix of its device id)",
    )
    p = add("ls", "List files in a snapshot.")
    p.add_argument("snapshot", metavar="SNAPSHOT")
    p.add_argument("path", nargs="?", metavar="PATH")
    p.add_argument("--json", action="store_true")
    p = add("versions", "List the versions of one file across snapshots.")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p = add("restore", "Restore a snapshot, or chosen paths of it, into a folder.")
    p.add_argument("snapshot", metavar="SNAPSHOT")
    p.add_argument("--target", required=True, metavar="DIR")
    p.add_argument("paths", nargs="*", metavar="PATH")
    p = add("check", "Verify the vault; exits 1 if anything is damaged.")
    p.add_argument("--read-data", action="store_true", help="also read and verify every chunk")
    p = add("forget", "Remove snapshots by a retention policy.")
    for unit in ("last", "hourly", "daily", "weekly", "monthly"):
        p.add_argument(f"--keep-{unit}", type=int, metavar="N", default=None)
    p.add_argument("--prune", action="store_true", help="then remove data no snapshot needs")
    p.add_argument(
        "--host", metavar="HOST", help="only this computer's snapshots (name or device id)"
    )
    add("prune", "Remove data that no snapshot needs.")
    p = add("connect", "Connect a cloud account.", repo=False)
    p.add_argument("service", choices=["dropbox"])
    p = add("key", "Manage the vault's keys.")
    p.add_argument("action", choices=["passwd", "recovery-key"])
    p = add("copy", "Copy every snapshot into a new vault with new keys (locks old keys out).")
    p.add_argument("--to", required=True, metavar="NEWREPO", help="where to create the new vault")
    p = add("screenshots", "Render every page of the app to PNG files.", repo=False)
    p.add_argument("dir", metavar="DIR")
    return parser


# --- helpers ---------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def resolve_repo(args: argparse.Namespace) -> str:
    repo = getattr(args, "repo", None) or os.environ.get("KEEPSAKE_REPO")
    if not repo:
        repo = _desktop_repo()
    if not repo:
        raise UsageError("no vault given: use --repo REPO or set KEEPSAKE_REPO")
    return str(repo)


def _desktop_repo() -> str | None:
    """The vault the desktop app is set up with, if any (settings are optional here)."""
    try:
        from app.store.settings import load_configured_repo
    except ImportError:
        return None
    try:
        repo = load_configured_repo()
    except Exception:
        return None
    return str(repo) if repo else None


def _gui_passphrase(repo: str) -> str:
    """Env, password file or keyring; "" lets the window ask (no terminal prompt)."""
    if os.environ.get("KEEPSAKE_PASSWORD") or os.environ.get("KEEPSAKE_PASSWORD_FILE"):
        return _passphrase(repo)
    try:
        from app.store.secrets import get_secret, passphrase_secret_name

        return get_secret(passphrase_secret_name(repo)) or ""
    except Exception:
        return ""


def _passphrase(repo: str, *, confirm: bool = False) -> str:
    env = os.environ.get("KEEPSAKE_PASSWORD")
    if env:
        return env
    path = os.environ.get("KEEPSAKE_PASSWORD_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.readline().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read KEEPSAKE_PASSWORD_FILE: {exc.strerror}") from None
    if not confirm:
        from app.store.secrets import get_secret, passphrase_secret_name

        stored = get_secret(passphrase_secret_name(repo))
        if stored:
            return stored
    if not sys.stdin.isatty():
        raise UsageError(
            "no passphrase: set KEEPSAKE_PASSWORD or KEEPSAKE_PASSWORD_FILE, or run in a terminal"
        )
    import getpass

    first = getpass.getpass("Passphrase: " if not confirm else "New passphrase: ")
    if confirm:
        second = getpass.getpass("Repeat passphrase: ")
        if first != second:
            raise UsageError("the passphrases do not match")
    return first


def open_vault(args: argparse.Namespace) -> Vault:
    from app.engine.vault import Vault

    repo = resolve_repo(args)
    storage = open_storage_for(repo)
    recovery = os.environ.get("KEEPSAKE_RECOVERY_KEY")
    if recovery:
        return Vault.open(storage, recovery_key=recovery)
    return Vault.open(storage, passphrase=_passphrase(repo))


@contextlib.contextmanager
def snapshot_vault(args: argparse.Namespace) -> Iterator[Vault]:
    """``open_vault`` for commands that list or pick snapshots: whatever happens,
    each snapshot object that cannot be read is named on stderr (it is left out of
    every listing and may have been the newest backup)."""
    with open_vault(args) as vault:
        try:
            yield vault
        finally:
            with contextlib.suppress(Exception):
                for damaged in vault.damaged_snapshots():
                    err(
                        f"warning: snapshot {damaged.short_id} is damaged and cannot be read "
                        f"({damaged.reason}); it is not listed. Run 'keepsake check'."
                    )


class _ProgressBar:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()

    def __call__(self, progress: Progress) -> None:
        if not self.enabled:
            return
        import humanize

        if progress.final:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            return
        width = 30
        filled = int(progress.fraction * width)
        bar = "#" * filled + "-" * (width - filled)
        text = (
            f"\r\033[K{progress.phase.value:<10} [{bar}] {progress.fraction * 100:5.1f}% "
            f"{progress.files_done}/{progress.files_total} files "
            f"{humanize.naturalsize(progress.bytes_done, binary=True)}"
        )
        if progress.rate_bps:
            text += f" {humanize.naturalsize(progress.rate_bps, binary=True)}/s"
        sys.stderr.write(text[: _columns()])
        sys.stderr.flush()


def _columns() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns
    except OSError:
        return 100


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


# --- commands ----------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    from app.engine.vault import Vault
    from app.storage.factory import is_remote

    repo = resolve_repo(args)
    if not is_remote(repo):
        try:
            os.makedirs(os.path.expanduser(repo), exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the vault folder {repo}: {exc.strerror}") from None
    storage = open_storage_for(repo)
    passphrase = _passphrase(repo, confirm=True)
    vault, recovery = Vault.create(storage, passphrase)
    vault.close()
    print(f"Created a new vault at {storage.description}.")
    print()
    print("Recovery key (shown only now; print it or store it somewhere safe):")
    print()
    print(f"    {recovery}")
    print()
    print("With it you can open this vault if you forget the passphrase.")
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        result = vault.backup(args.paths, excludes=args.exclude, on_progress=_ProgressBar())
    for warning in result.warnings:
        err(f"skipped {warning.path}: {warning.message}")
    for note in result.notes:
        err(f"note: {note.path}: {note.message}")
    if args.json:
        _print_json(
            {
                "snapshot": result.snapshot_id,
                "files_new": result.files_new,
                "files_changed": result.files_changed,
                "files_unchanged": result.files_unchanged,
                "bytes_read": result.bytes_read,
                "bytes_added": result.bytes_added,
                "bytes_uploaded": result.bytes_uploaded,
                "duration_s": round(result.duration_s, 3),
            }
        )
    else:
        import humanize

        print(
            f"Snapshot {result.snapshot_id[:8]} saved: {result.files_new} new, "
            f"{result.files_changed} changed, {result.files_unchanged} unchanged files; "
            f"{humanize.naturalsize(result.bytes_added, binary=True)} added, "
            f"{humanize.naturalsize(result.bytes_uploaded, binary=True)} stored "
            f"in {result.duration_s:.1f} s."
        )
    return EXIT_SKIPPED if result.warnings else EXIT_OK


def cmd_snapshots(args: argparse.Namespace) -> int:
    with snapshot_vault(args) as vault:
        snaps = vault.snapshots()
    if args.host:
        snaps = [s for s in snaps if s.matches_host(args.host)]
    if args.json:
        _print_json(
            [
                {
                    "id": s.id,
                    "time": _iso(s.time),
                    "hostname": s.hostname,
                    "device_id": s.device_id,
                    "paths": list(s.paths),
                    "files": s.files,
                    "bytes": s.bytes,
                }
                for s in snaps
            ]
        )
        return EXIT_OK
    import humanize

    if not snaps:
        print("No snapshots yet.")
    for s in snaps:
        when = s.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        size = humanize.naturalsize(s.bytes, binary=True)
        print(
            f"{s.short_id}  {when}  {s.hostname:<16} {s.files:>8} files {size:>10}  {', '.join(s.paths)}"
        )
    return EXIT_OK


def cmd_ls(args: argparse.Namespace) -> int:
    with snapshot_vault(args) as vault:
        entries = list(vault.walk(args.snapshot, args.path))
    if args.json:
        _print_json(
            [
                {"path": e.path, "type": e.type.value, "size": e.size, "mtime": _iso(e.mtime)}
                for e in entries
            ]
        )
        return EXIT_OK
    for e in entries:
        when = e.mtime.astimezone().strftime("%Y-%m-%d %H:%M")
        suffix = f" -> {e.link_target}" if e.link_target is not None else ""
        print(f"{e.type.value:<7} {e.size:>12} {when}  {e.path}{suffix}")
    return EXIT_OK


def cmd_versions(args: argparse.Namespace) -> int:
    with snapshot_vault(args) as vault:
        versions = vault.versions(args.file)
    if args.json:
        _print_json(
            [
                {
                    "snapshot": v.snapshot,
                    "time": _iso(v.time),
                    "size": v.size,
                    "mtime": _iso(v.mtime),
                    "change": v.change.value,
                }
                for v in versions
            ]
        )
        return EXIT_OK
    if not versions:
        print(f"No snapshot holds {args.file}.")
    for v in versions:
        when = v.time.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        print(f"{v.snapshot[:8]}  {when}  {v.change.value:<9} {v.size:>12}")
    return EXIT_OK


def cmd_restore(args: argparse.Namespace) -> int:
    with snapshot_vault(args) as vault:
        result = vault.restore(args.snapshot, args.target, args.paths, on_progress=_ProgressBar())
    for warning in result.warnings:
        err(f"{warning.path}: {warning.message}")
    print(f"Restored {result.files_restored} files into {args.target}.", file=sys.stderr)
    return EXIT_ERROR if result.warnings else EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        result = vault.check(read_data=args.read_data, on_progress=_ProgressBar())
    for note in result.notes:
        err(f"note: {note}")
    if result.ok:
        print(f"No problems found ({result.objects_checked} objects checked).")
        return EXIT_OK
    print("Damaged:")
    for problem in result.problems:
        print(f"  {problem}")
    if result.affected_files:
        print("Files affected:")
        for path in result.affected_files:
            print(f"  {path}")
    err(
        f"check found {len(result.problems)} problem(s); {len(result.affected_files)} file(s) affected"
    )
    return EXIT_ERROR


def cmd_forget(args: argparse.Namespace) -> int:
    from app.engine.retention import RetentionPolicy

    policy = RetentionPolicy(
        last=args.keep_last,
        hourly=args.keep_hourly,
        daily=args.keep_daily,
        weekly=args.keep_weekly,
        monthly=args.keep_monthly,
    )
    if policy.is_empty():
        raise UsageError("give at least one --keep-* option")
    with snapshot_vault(args) as vault:
        removed = vault.forget(policy, host=args.host)
        print(f"Removed {len(removed)} snapshot(s).")
        if args.prune:
            stats = vault.prune(on_progress=_ProgressBar())
            print(stats.summary())
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        stats = vault.prune(on_progress=_ProgressBar())
    print(stats.summary())
    return EXIT_OK


# Said after every key change: the master keys stay, so old key objects still work.
KEY_CHANGE_NOTE = (
    "Note: the vault's master keys are unchanged. A copy of the old key object (for\n"
    "example in Dropbox's deleted-file history or on an old copy of the drive) still\n"
    "opens this vault, new backups included, with the old {what}. To lock it out for\n"
    "good, copy the history into a new vault with new keys ('keepsake copy --to NEWREPO',\n"
    "or in the desktop app Settings > Start a new backup... with the history copied in)\n"
    "and delete this one; see docs/USER_GUIDE.md, 'Changing the passphrase'."
)


def cmd_key(args: argparse.Namespace) -> int:
    with open_vault(args) as vault:
        if args.action == "passwd":
            vault.change_passphrase(new_passphrase())
            print("Passphrase changed.")
            print()
            print(KEY_CHANGE_NOTE.format(what="passphrase"))
        else:
            recovery = vault.replace_recovery_key()
            print("New recovery key (it replaces the old one in the vault):")
            print()
            print(f"    {recovery}")
            print()
            print(KEY_CHANGE_NOTE.format(what="recovery key"))
    return EXIT_OK


def cmd_copy(args: argparse.Namespace) -> int:
    from app.cli_copy import run_copy

    return run_copy(args, open_vault(args))


def cmd_connect(args: argparse.Namespace) -> int:
    from app.cli_connect import run_connect

    return int(run_connect(args))


def cmd_gui(args: argparse.Namespace) -> int:
    browse = getattr(args, "browse", None)
    if browse is not None:
        from app.main import run_browse

        repo = browse or os.environ.get("KEEPSAKE_REPO") or _desktop_repo()
        if not repo:
            raise UsageError("no vault given: use --browse REPO or set KEEPSAKE_REPO")
        return int(run_browse(repo, _gui_passphrase(repo)))
    from app.main import run_gui

    return int(run_gui(minimized=bool(getattr(args, "minimized", False))))


def cmd_screenshots(args: argparse.Namespace) -> int:
    from app.devtools.screenshots import render_screenshots

    return int(render_screenshots(args.dir))


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "backup": cmd_backup,
    "snapshots": cmd_snapshots,
    "ls": cmd_ls,
    "versions": cmd_versions,
    "restore": cmd_restore,
    "check": cmd_check,
    "forget": cmd_forget,
    "prune": cmd_prune,
    "key": cmd_key,
    "connect": cmd_connect,
    "copy": cmd_copy,
    "gui": cmd_gui,
    "screenshots": cmd_screenshots,
}


def main(argv: Sequence[str] | None = None) -> int:
    from app.core.paths import secure_local_state
    from app.core.process import disable_core_dumps

    # Before any key exists in memory: a core dump would hold it in plain text.
    disable_core_dumps()
    secure_local_state()
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    # argparse stops taking positionals once an option follows them, so
    # `restore SNAPSHOT --target DIR PATH...` leaves PATHs over: they belong to the list.
    if extras:
        if args.command in ("backup", "restore") and not any(e.startswith("-") for e in extras):
            args.paths = [*args.paths, *extras]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
    command = args.command or "gui"
    if command != "gui":
        # A one-shot command makes millions of small acyclic objects (stat results,
        # tree nodes): the cyclic collector would rescan them again and again.
        gc.freeze()
        gc.set_threshold(100_000, 50, 50)
    try:
        return COMMANDS[command](args)
    except UsageError as exc:
        err(f"error: {exc}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err("interrupted")
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        from app.core.errors import AppError, WrongPasswordError

        if isinstance(exc, WrongPasswordError):
            err(f"error: {exc.message}")
            return EXIT_WRONG_PASSWORD
        if isinstance(exc, AppError):
            err(f"error: {exc.message}")
            return EXIT_ERROR
        if os.environ.get("KEEPSAKE_DEBUG"):
            raise
        err(f"internal error: {type(exc).__name__}: {exc} (set KEEPSAKE_DEBUG=1 for details)")
        return EXIT_ERROR
