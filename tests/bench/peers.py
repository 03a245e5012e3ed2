"""Install the peer tools (restic, Borg) from Debian packages when they are missing.

``make bench`` must run start to finish on a fresh machine, so the harness installs
what it needs instead of asking. It only ever installs the named packages with
apt-get as root; anywhere else it prints the command for a human and goes on without
that peer.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.bench.measure import GNU_TIME

# binary -> Debian package
PEER_PACKAGES = {"restic": "restic", "borg": "borgbackup"}


def _apt(args: list[str]) -> bool:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    proc = subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        print(f"[bench] apt-get {' '.join(args[:2])} failed: {' | '.join(tail)}")
    return proc.returncode == 0


def ensure_peers(binaries: list[str]) -> dict[str, bool]:
    """Make each binary (and GNU time, the rusage wrapper) available.

    Returns which peers are usable afterwards. Without GNU time the harness falls back
    to a Python wrapper, so its absence is not fatal.
    """
    missing = [b for b in binaries if shutil.which(b) is None]
    packages = [PEER_PACKAGES[b] for b in missing]
    if not os.access(GNU_TIME, os.X_OK):
        packages.append("time")
    if packages:
        can_apt = shutil.which("apt-get") is not None and os.geteuid() == 0
        if can_apt:
            print(f"[bench] installing {' '.join(packages)} with apt-get")
            if _apt(["update", "-q"]):
                _apt(["install", "-y", "-q", "--no-install-recommends", *packages])
        else:
            print(
                "[bench] missing peers; install them with:"
                f" sudo apt-get install {' '.join(packages)}"
            )
    return {b: shutil.which(b) is not None for b in binaries}
