"""Smoke test of what `make installer` built, as a user would meet it.

Run by `make installer-check` (and so by CI after `make test`):
- the one-folder bundle, outside the venv (a bare environment), prints its version,
  starts within 1.5x the venv's `keepsake --version`, backs up and restores a small tree
  byte-exact, restores 22,000 files byte-exact with the restore's helper process (the
  frozen executable started again by multiprocessing), and renders the app's pages under Xvfb with the xcb platform plugin;
- the bundle is at most 170 MiB and every library it loads is in it or on the system;
- the .deb installs with apt-get, its desktop entry and AppStream metainfo validate,
  `keepsake --version` works from PATH, lintian shows no unexpected error, and
  `dpkg -r` removes it.
Prints the figures it measured; exits non-zero on the first failure.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from installers.linux import appstream, elf  # noqa: E402

DIST = ROOT / "dist"
BUNDLE = DIST / "keepsake"
MAX_BUNDLE_MIB = 170
MAX_START_RATIO = 1.5
# Error-level lintian tags every PyInstaller bundle under /opt has (docs/INSTALLERS.md).
LINTIAN_EXPECTED = {
    "dir-or-file-in-opt",  # the bundle lives in /opt/keepsake by design
    "embedded-library",  # PyInstaller carries its own copies of libraries
    "statically-linked-binary",
    "unstripped-binary-or-object",
    "shared-library-lacks-version",
    "library-not-linked-against-libc",
    "python-module-in-wrong-location",
}


def fail(message: str) -> None:
    print(f"installer-check: FAILED: {message}", file=sys.stderr)
    raise SystemExit(1)


def bare_env(home: Path, **extra: str) -> dict[str, str]:
    """Nothing from the venv or the developer's shell: what a new user's session has."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    env.update(extra)
    return env


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 300) -> str:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def start_time(cmd: list[str], env: dict[str, str], runs: int = 11) -> tuple[float, float]:
    """(median wall-clock seconds, fastest CPU seconds) of ``runs`` starts. The CPU
    time (user + system of the child) is what the ratio is judged on: it is what the
    start-up costs, and unlike wall-clock time it does not move with the machine's load."""
    import resource

    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), min(cpus)


def _forked_helpers(pid: int) -> set[int]:
    """Child processes of ``pid`` that are multiprocessing helpers (a frozen app runs
    its own executable again with ``--multiprocessing-fork``)."""
    found = set()
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids = children.read_text().split()
        except OSError:
            continue
        for kid in kids:
            try:
                argv = Path(f"/proc/{kid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"--multiprocessing-fork" in argv:
                found.add(int(kid))
    return found


def check_split_restore(exe: Path, env: dict[str, str], tmp: Path) -> None:
    """A full restore of many files shares its folders with a helper process
    (app.engine.restore_split, spawn): in the frozen app that helper is this
    executable started again, which only works if the entry point hands it to
    multiprocessing. The helper must be seen running and the tree come back whole."""
    from app.engine.restore_split import SPLIT_MIN_FILES

    src = tmp / "many"
    per_folder = 100
    for i in range(SPLIT_MIN_FILES // per_folder + 20):
        folder = src / f"d{i // 20:03d}" / f"f{i:04d}"
        folder.mkdir(parents=True)
        for j in range(per_folder):
            (folder / f"n{j:03d}.txt").write_bytes(b"note %d %d\n" % (i, j) * (1 + j % 7))
    vault, target = tmp / "many-vault", tmp / "many-restored"
    run([str(exe), "init", "--repo", str(vault)], env)
    run([str(exe), "backup", "--repo", str(vault), str(src)], env)
    cmd = [str(exe), "restore", "--repo", str(vault), "latest", "--target", str(target)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    helpers: set[int] = set()
    while proc.poll() is None:
        helpers |= _forked_helpers(proc.pid)
        time.sleep(0.005)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{out.decode()}\n{err.decode()}")
    restored = target / src.relative_to("/")
    files = 0
    for path in src.rglob("*.txt"):
        files += 1
        if path.read_bytes() != (restored / path.relative_to(src)).read_bytes():
            fail(f"{path.relative_to(src)} differs after the split restore")
    extra = sum(1 for _ in restored.rglob("*.txt")) - files
    if extra:
        fail(f"the split restore wrote {extra} file(s) that are not in the backup")
    if not helpers:
        fail(f"the bundled restore of {files:,} files never started its helper process")
    print(f"bundle: restore of {files:,} files byte-exact in {wall:.1f} s with a helper process")


def check_bundle(tmp: Path) -> None:
    exe = BUNDLE / "keepsake"
    if not exe.exists():
        fail(f"{exe} is missing: run `make installer` first")
    size_mib = (
        sum(p.stat().st_size for p in BUNDLE.rglob("*") if p.is_file() and not p.is_symlink())
        / 2**20
    )
    print(f"bundle size: {size_mib:.1f} MiB (limit {MAX_BUNDLE_MIB})")
    if size_mib > MAX_BUNDLE_MIB:
        fail(f"the bundle is {size_mib:.1f} MiB, over {MAX_BUNDLE_MIB} MiB")
    files = elf.elf_files(BUNDLE)
    missing = sorted(n for n in elf.system_needed(BUNDLE, files) if not _on_system(n))
    if missing:
        fail(f"bundled files need libraries neither bundled nor installed: {', '.join(missing)}")
    home = tmp / "home"
    home.mkdir()
    env = bare_env(
        home,
        KEEPSAKE_PASSWORD="installer-check",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    from app import __version__

    out = run([str(exe), "--version"], env)
    if __version__ not in out:
        fail(f"`keepsake --version` printed {out!r}")
    venv_cli = ROOT / ".venv" / "bin" / "keepsake"
    bundled_wall, bundled = start_time([str(exe), "--version"], env)
    venv_wall, venv = start_time([str(venv_cli), "--version"], dict(os.environ, HOME=str(home)))
    print(
        f"--version start-up: bundle {bundled_wall * 1000:.0f} ms wall / {bundled * 1000:.0f} ms CPU, "
        f"venv {venv_wall * 1000:.0f} ms wall / {venv * 1000:.0f} ms CPU ({bundled / venv:.2f}x CPU)"
    )
    if bundled > MAX_START_RATIO * venv:
        fail(
            f"the bundled CLI starts {bundled / venv:.2f}x slower than the venv's (limit {MAX_START_RATIO}x)"
        )
    src = tmp / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    (src / "sub" / "b.bin").write_bytes(os.urandom(300_000))
    (src / "empty").write_bytes(b"")
    vault, target = tmp / "vault", tmp / "restored"
    run([str(exe), "init", "--repo", str(vault)], env)
    run([str(exe), "backup", "--repo", str(vault), str(src)], env)
    run([str(exe), "restore", "--repo", str(vault), "latest", "--target", str(target)], env)
    cmp = filecmp.dircmp(src, target / src.relative_to("/"))
    if cmp.diff_files or cmp.left_only or cmp.right_only or cmp.subdirs["sub"].diff_files:
        fail("the bundled CLI did not restore the tree byte-exact")
    for name in ("a.txt", "sub/b.bin", "empty"):
        if (src / name).read_bytes() != (target / src.relative_to("/") / name).read_bytes():
            fail(f"{name} differs after restore")
    print("bundle: backup and restore byte-exact")
    check_split_restore(exe, env, tmp)
    if shutil.which("xvfb-run"):
        shots = tmp / "shots"
        t0 = time.perf_counter()
        run(
            ["xvfb-run", "-a", str(exe), "screenshots", str(shots)],
            dict(env, QT_QPA_PLATFORM="xcb"),
            timeout=600,
        )
        pngs = list(shots.glob("*.png"))
        if len(pngs) < 5:
            fail(f"the bundled app rendered {len(pngs)} pages under Xvfb")
        print(
            f"bundle: {len(pngs)} pages rendered with the xcb plugin in {time.perf_counter() - t0:.1f} s"
        )


def _on_system(lib: str) -> bool:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True).stdout
    return f"{lib} " in out


def check_deb(tmp: Path) -> None:
    debs = sorted(DIST.glob("keepsake_*.deb"))
    if not debs:
        fail("no .deb in dist/")
    deb = debs[-1]
    print(f".deb: {deb.name}, {deb.stat().st_size / 2**20:.1f} MiB")
    if shutil.which("lintian"):
        proc = subprocess.run(
            ["lintian", "--no-tag-display-limit", str(deb)], capture_output=True, text=True
        )
        errors = [line for line in proc.stdout.splitlines() if line.startswith("E: ")]
        unexpected = [line for line in errors if line.split()[2] not in LINTIAN_EXPECTED]
        tags = sorted({line.split()[2] for line in errors})
        print(f"lintian: {len(errors)} error lines, tags: {', '.join(tags) or 'none'}")
        if unexpected:
            fail("unexpected lintian errors:\n" + "\n".join(unexpected[:20]))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", str(deb)], env, timeout=900)
    try:
        desktop = Path("/usr/share/applications") / f"{appstream.APP_ID}.desktop"
        metainfo = Path("/usr/share/metainfo") / f"{appstream.APP_ID}.metainfo.xml"
        run(["desktop-file-validate", str(desktop)])
        run(["appstreamcli", "validate", "--no-net", "--pedantic", str(metainfo)])
        home = tmp / "deb-home"
        home.mkdir()
        out = run(["keepsake", "--version"], bare_env(home))
        print(f"installed: {shutil.which('keepsake')} -> {out.strip()}")
        if not Path("/usr/share/doc/keepsake/copyright").exists():
            fail("the .deb has no /usr/share/doc/keepsake/copyright")
    finally:
        run(["dpkg", "-r", "keepsake"], timeout=300)
    for leftover in (Path("/opt/keepsake"), Path("/usr/bin/keepsake")):
        if leftover.exists() or leftover.is_symlink():
            fail(f"dpkg -r left {leftover}")
    print(".deb: installed, validated, ran from PATH, removed cleanly")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="keepsake-installer-check-") as tmp:
        check_bundle(Path(tmp))
        if os.geteuid() == 0 and shutil.which("apt-get"):
            check_deb(Path(tmp))
        else:
            print("not root or not Debian: skipping the .deb install check")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
