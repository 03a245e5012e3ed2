"""Build the desktop app with PyInstaller, then (on Debian) a .deb from its output.

Usage: python installers/build.py [--skip-pyinstaller]. Output goes to dist/.
Windows (Inno Setup, installers/windows/keepsake.iss) and macOS
(installers/macos/build_dmg.sh) packaging run on their own OS in the release
workflow (installers/release.yml); this script builds the PyInstaller part there too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installers.licenses import bundled_licenses, write_license_folder  # noqa: E402

DIST = ROOT / "dist"


def version() -> str:
    from app import __version__

    return __version__


def run_pyinstaller() -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "PyInstaller",
            "--noconfirm",
            "--clean",
            "--log-level",
            "WARN",
            "--distpath",
            str(DIST),
            "--workpath",
            str(ROOT / "build" / "pyinstaller"),
            str(ROOT / "installers" / "pyinstaller" / "keepsake.spec"),
        ],
        check=True,
        cwd=ROOT,
    )
    return DIST / "keepsake"


def write_flatpak_inputs(bundle: Path) -> Path:
    """The bundle as a tarball plus the metainfo, for installers/flatpak/."""
    import platform
    import tarfile
    from datetime import UTC, datetime

    from installers.linux import appstream

    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    meta = appstream.metainfo(changelog, version(), datetime.now(UTC).date())
    (DIST / f"{appstream.APP_ID}.metainfo.xml").write_text(meta, encoding="utf-8")
    out = DIST / f"keepsake-linux-{platform.machine()}.tar.xz"
    with tarfile.open(out, "w:xz") as tar:
        tar.add(bundle, arcname="keepsake")
    return out


BUILD_CONFIG = ROOT / "app" / "core" / "_build_config.py"


def write_build_config(env: dict[str, str] | None = None) -> None:
    """Bake the packager's Dropbox app key (env ``KEEPSAKE_DROPBOX_APP_KEY`` at build
    time) into the build; without one, the app's wizard guides users to register
    their own. The file is git-ignored; an empty key removes it."""
    key = (env if env is not None else dict(os.environ)).get("KEEPSAKE_DROPBOX_APP_KEY", "")
    if key.strip():
        BUILD_CONFIG.write_text(
            '"""Written by installers/build.py; not in git."""\n\n'
            f"DROPBOX_APP_KEY = {key.strip()!r}\n",
            encoding="utf-8",
        )
        print("Dropbox app key: built in")
    else:
        BUILD_CONFIG.unlink(missing_ok=True)
        print("Dropbox app key: none (the wizard guides users to register one)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-pyinstaller", action="store_true", help="reuse dist/keepsake")
    parser.add_argument(
        "--tarball",
        action="store_true",
        help="also write the Linux tarball and metainfo the Flatpak manifest takes",
    )
    args = parser.parse_args()
    write_build_config()
    items = bundled_licenses()
    licenses = ROOT / "build" / "licenses"
    if licenses.exists():
        shutil.rmtree(licenses)
    write_license_folder(licenses, items)
    bundle = DIST / "keepsake" if args.skip_pyinstaller else run_pyinstaller()
    print(f"App bundle: {bundle}")
    if sys.platform.startswith("linux") and shutil.which("dpkg-deb"):
        from installers.linux import elf
        from installers.linux.deb import build_deb, copy_system_copyrights

        copy_system_copyrights(bundle)
        cleaned = elf.drop_foreign_runpaths(elf.elf_files(bundle), bundle)
        print(f"Removed build-machine RUNPATHs from {len(cleaned)} files")
        print(f"Debian package: {build_deb(bundle, version(), items, DIST)}")
    elif sys.platform.startswith("linux"):
        print("dpkg-deb not found: skipping the .deb (not a Debian system)")
    if args.tarball and sys.platform.startswith("linux"):
        print(f"Flatpak inputs: {write_flatpak_inputs(bundle)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
