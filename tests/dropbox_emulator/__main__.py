"""Run the Dropbox emulator in the foreground and print the environment to use it.

    python -m tests.dropbox_emulator --root /tmp/dbx --port 8443
    eval "$(python -m tests.dropbox_emulator --root /tmp/dbx --port 8443 &)"  # or copy

Faults can be set at start (``--faults '{"drop": 0.1}'``) or later with
``curl --cacert ROOT/ca.pem -X POST https://127.0.0.1:N/_emulator/faults -d '{...}'``.
Contents persist in ROOT across restarts; stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys
import threading
from types import FrameType

from tests.dropbox_emulator.server import DEFAULT_APP_KEY, DropboxEmulator, Faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dropbox_emulator")
    parser.add_argument("--root", required=True, help="folder for contents and the CA file")
    parser.add_argument("--port", type=int, default=0, help="port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--app-key", default=DEFAULT_APP_KEY)
    parser.add_argument("--token", default=None, help="static access token to accept")
    parser.add_argument("--faults", default="{}", help='JSON, e.g. {"error_503": 0.1}')
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quota-bytes", type=int, default=2 * 1024**4)
    args = parser.parse_args(argv)

    faults = Faults()
    faults.update(json.loads(args.faults))
    emulator = DropboxEmulator(
        args.root,
        port=args.port,
        host=args.host,
        app_key=args.app_key,
        faults=faults,
        seed=args.seed,
        quota_bytes=args.quota_bytes,
        static_token=args.token,
    )
    emulator.start()
    for key, value in emulator.env().items():
        print(f"export {key}={shlex.quote(value)}")
    print(f"# Dropbox emulator on https://{emulator.address}/ (Ctrl-C stops)", file=sys.stderr)

    done = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    done.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
