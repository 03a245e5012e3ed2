"""A loopback HTTPS Dropbox API v2 emulator for tests (see server.py for the wire rules).

In-process: ``with DropboxEmulator(tmp_path) as emu: ...`` then point a client at
``emu.env()``. Standalone: ``python -m tests.dropbox_emulator --root DIR --port N``
prints the ``export`` lines for a shell.
"""

from tests.dropbox_emulator.server import DEFAULT_APP_KEY, FAULT_KINDS, DropboxEmulator, Faults

__all__ = ["DEFAULT_APP_KEY", "FAULT_KINDS", "DropboxEmulator", "Faults"]
