"""Deterministic test data: a personal photo/document library and a many-small-files tree.

Everything is derived from a seed so that every tool, every run and every machine
backs up byte-identical data; only the paths of the work directory differ. Content
comes from a BLAKE3 extendable output (incompressible, ~0.6 GB/s) and from a
phrase-table text generator (~50 MB/s, compresses to ~30% with zstd level 3, close
to real prose), because Python-level per-byte generation would make a 1 GiB tree take
minutes and tempt people to skip regenerating it.
"""

from __future__ import annotations

import math
import operator
import os
import random
import shutil
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

try:
    from blake3 import blake3 as _blake3

    def _stream(label: str, length: int) -> bytes:
        return _blake3(label.encode()).digest(length=length)

except ImportError:  # pragma: no cover - blake3 is an app dependency, but stay usable
    import hashlib

    def _stream(label: str, length: int) -> bytes:
        return hashlib.shake_256(label.encode()).digest(length)


KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

# 2016-01-01 .. 2024-12-31: original files; 2025-01-15: files touched by the change.
_EPOCH_START = 1_451_606_400
_EPOCH_SPAN = 9 * 365 * 86_400
CHANGE_MTIME = 1_736_899_200

_JPEG_HEADER = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x01\x00H\x00H\x00\x00"
    b"\xff\xe1\x00\x16Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00"
)
_JPEG_TRAILER = b"\xff\xd9"


@dataclass(frozen=True)
class Scale:
    """Size of the generated data.

    ``total_bytes`` and ``files`` describe the library tree (photos, documents,
    notes, duplicates); ``scan_files`` the separate many-small-files tree used to see
    how the no-change backup and memory grow with the file count.
    """

    total_bytes: int
    files: int
    scan_files: int

    @classmethod
    def from_factor(cls, factor: float) -> Scale:
        """1.0 is the issue's reference: 1 GiB / 10,000 files, plus 200,000 small files."""
        if factor <= 0:
            raise ValueError("scale must be positive")
        return cls(
            total_bytes=max(20 * MIB, int(GIB * factor)),
            files=max(200, int(10_000 * factor)),
            scan_files=max(1_000, int(200_000 * factor)),
        )

    def describe(self) -> str:
        return (
            f"{self.total_bytes / MIB:,.0f} MiB / {self.files:,} files"
            f" + {self.scan_files:,} small files"
        )


QUICK = Scale(total_bytes=50 * MIB, files=500, scan_files=5_000)


@dataclass
class TreeInfo:
    """What the harness needs to know about a generated library tree."""

    root: Path
    files: int
    bytes: int
    restore_photo: str  # relative posix path of an exactly-5-MiB photo
    categories: dict[str, int] = field(default_factory=dict)


class TextSource:
    """Prose-like bytes from a Zipf-weighted table of 65,536 short phrases.

    Picking whole phrases with 16-bit indices from a BLAKE3 stream is ~50x faster than
    choosing words one by one, and keeps zstd's ratio near that of real text, so the
    documents exercise compression the way a real library would.
    """

    def __init__(self, seed: int) -> None:
        rng = random.Random(f"text-{seed}")
        syllables = [
            "ka", "to", "re", "mi", "lan", "son", "der", "e", "a", "in", "ou", "th",
            "st", "ing", "ed", "ver", "pho", "tos", "ber", "al", "ri", "o", "un", "ne",
        ]  # fmt: skip
        words = [
            "".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))).encode()
            for _ in range(5_000)
        ]

        def word() -> bytes:
            return words[min(int(len(words) * rng.random() ** 2.5), len(words) - 1)]

        table: list[bytes] = []
        for _ in range(65_536):
            phrase = b" ".join(word() for _ in range(rng.randint(1, 3)))
            x = rng.random()
            phrase += b".\n" if x < 0.05 else (b", " if x < 0.15 else b" ")
            table.append(phrase)
        self._table = table

    def text(self, label: str, size: int) -> bytes:
        """Exactly ``size`` bytes of prose, a pure function of ``label``."""
        if size <= 0:
            return b""
        count = size // 9 + 16
        indices = array("H")
        indices.frombytes(_stream(f"idx:{label}", 2 * count))
        out = b"".join(operator.itemgetter(*indices)(self._table)) if count > 1 else b""
        while len(out) < size:  # rare: the phrases drawn were shorter than average
            label += "+"
            out += self.text(label, size - len(out))
        return out[:size]


def random_bytes(label: str, size: int) -> bytes:
    """Incompressible bytes, a pure function of ``label``."""
    return _stream(f"rnd:{label}", size) if size > 0 else b""


def jpeg_like(label: str, size: int) -> bytes:
    """A photo-like file: JPEG/EXIF header, random (incompressible) body, EOI marker."""
    body = random_bytes(label, size - len(_JPEG_HEADER) - len(_JPEG_TRAILER))
    return _JPEG_HEADER + body + _JPEG_TRAILER


def _write(path: Path, data: bytes, mtime: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.utime(path, (mtime, mtime))


_AREAS = {
    "Work": ["Projects/Apollo", "Projects/Borealis/Specs", "Reports/2022", "Reports/2023"],
    "Finance": ["Taxes/2021", "Taxes/2022", "Taxes/2023", "Bank statements", "Receipts"],
    "Home": ["Insurance", "Appliances/Manuals", "Renovation/Quotes", "Garden"],
    "School": ["Thesis/Drafts", "Thesis/Data", "Courses/Statistics", "Courses/History"],
    "Travel": ["Zürich 2019", "Café trip Paris 2022", "Japan 2023/Itinerary"],
    "Recipes": ["Baking", "Soups", "Grand-mère"],
}


def _doc_folders() -> list[str]:
    return [f"Documents/{area}/{sub}" for area, subs in _AREAS.items() for sub in subs]


def _doc_content(text: TextSource, label: str, kind: str, size: int) -> bytes:
    """Documents of several kinds, all compressible but not equally so."""
    if kind in (".txt", ".md"):
        return text.text(label, size)
    if kind == ".csv":
        rows = text.text(label, size).replace(b" ", b";").replace(b",", b"")
        return rows[:size]
    if kind in (".xml", ".html"):
        body = text.text(label, size).replace(b".\n", b".</w:t></w:r></w:p>\n<w:p><w:r><w:t>")
        head = b'<?xml version="1.0" encoding="UTF-8"?>\n<w:document><w:body><w:p><w:r><w:t>'
        return (head + body)[:size]
    # ".pdf": text streams interleaved with incompressible embedded images/fonts.
    parts: list[bytes] = [b"%PDF-1.7\n"]
    n = 0
    while sum(map(len, parts)) < size:
        block = 64 * KIB
        if n % 2:
            parts.append(random_bytes(f"{label}:{n}", block))
        else:
            parts.append(text.text(f"{label}:{n}", block))
        n += 1
    return b"".join(parts)[:size]


def generate_tree(root: Path, scale: Scale, seed: int) -> TreeInfo:
    """Create the library tree under ``root`` (which must not exist yet).

    Byte budget: ~62% unique photos (1-8 MiB, a few exactly 5 MiB), ~25% documents
    (20 KiB-2 MiB, log-uniform), ~6% copied photos, ~3% a copied document folder, the
    rest many small notes (<8 KiB) that make up most of the file count. Plus an empty
    file, an empty folder and a symlink, because real libraries have them and a
    restore that drops them is wrong.
    """
    if root.exists():
        raise FileExistsError(root)
    rng = random.Random(f"tree-{seed}")
    text = TextSource(seed)
    total = scale.total_bytes
    written = {"files": 0, "bytes": 0}
    categories: dict[str, int] = {}

    def put(rel: str, data: bytes, mtime: int, category: str) -> None:
        _write(root / rel, data, mtime)
        written["files"] += 1
        written["bytes"] += len(data)
        categories[category] = categories.get(category, 0) + 1

    # Photos, grouped into dated event folders.
    photo_budget = int(total * 0.62)
    photos: list[str] = []
    mean_photo = 4.5 * MIB
    n_exact = max(2, min(8, round(photo_budget / mean_photo * 0.05)))
    used = 0
    index = 0
    event_left = 0
    event_dir = ""
    event_time = _EPOCH_START
    while used < photo_budget:
        if event_left == 0:
            event_time = _EPOCH_START + rng.randrange(_EPOCH_SPAN)
            year = 2016 + (event_time - _EPOCH_START) * 9 // _EPOCH_SPAN
            name = rng.choice(["Birthday", "Hike", "Beach", "Family", "Concert", "Wedding"])
            event_dir = f"Pictures/{year}/{year}-{rng.randint(1, 12):02d} {name} {index}"
            event_left = rng.randint(5, 25)
        size = 5 * MIB if index < n_exact else rng.randint(1 * MIB, 8 * MIB)
        size = min(size, max(1 * MIB, photo_budget - used)) if index >= n_exact else size
        rel = f"{event_dir}/IMG_{10_000 + index:05d}.JPG"
        put(rel, jpeg_like(f"{seed}:photo:{index}", size), event_time + index * 7, "photos")
        photos.append(rel)
        used += size
        index += 1
        event_left -= 1
    restore_photo = photos[0]

    # Documents: log-uniform sizes so most are small and a few are large.
    docs_budget = int(total * 0.25)
    folders = _doc_folders()
    kinds = [".txt", ".md", ".csv", ".xml", ".html", ".pdf"]
    used = 0
    index = 0
    folder_bytes: dict[str, int] = {}
    while used < docs_budget:
        size = int(math.exp(rng.uniform(math.log(20 * KIB), math.log(2 * MIB))))
        size = max(20 * KIB, min(size, docs_budget - used)) if used + size > docs_budget else size
        kind = rng.choice(kinds)
        folder = folders[index % len(folders)] if index < len(folders) else rng.choice(folders)
        rel = f"{folder}/doc-{index:05d}{kind}"
        data = _doc_content(text, f"{seed}:doc:{index}", kind, size)
        put(rel, data, _EPOCH_START + rng.randrange(_EPOCH_SPAN), "documents")
        folder_bytes[folder] = folder_bytes.get(folder, 0) + size
        used += size
        index += 1

    # Duplicates: ~10% of the photos copied to an album, one document folder copied.
    n_dups = max(1, len(photos) // 10)
    for rel in sorted(rng.sample(photos, n_dups)):
        src = root / rel
        dst = root / "Pictures/Favourites" / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        written["files"] += 1
        written["bytes"] += src.stat().st_size
        categories["duplicate photos"] = categories.get("duplicate photos", 0) + 1
    target = total * 0.03
    copied = min(sorted(folder_bytes), key=lambda f: (abs(folder_bytes[f] - target), f))
    dst_dir = root / "Documents/Archive/Old laptop" / Path(copied).name
    shutil.copytree(root / copied, dst_dir, copy_function=shutil.copy2)
    for p in dst_dir.rglob("*"):
        if p.is_file():
            written["files"] += 1
            written["bytes"] += p.stat().st_size
            categories["duplicate folder files"] = categories.get("duplicate folder files", 0) + 1

    # Special entries.
    put("Notes/empty.md", b"", _EPOCH_START, "special")
    (root / "Documents/Empty folder").mkdir(parents=True)
    os.symlink(f"../{restore_photo}", root / "Pictures/cover.jpg")
    categories["special"] = categories.get("special", 0) + 2

    # Notes fill the remaining file count: nested notebooks of ~100 notes each.
    n_notes = max(10, scale.files - written["files"])
    blob = text.text(f"{seed}:notes", n_notes * 600 + 8 * KIB)
    for i in range(n_notes):
        size = int(math.exp(rng.uniform(math.log(100), math.log(8 * KIB - 1))))
        rel = f"Notes/notebook-{i // 1000:02d}/section-{(i // 100) % 10:02d}/note-{i:06d}.md"
        start = i * 600
        put(rel, blob[start : start + size], _EPOCH_START + rng.randrange(_EPOCH_SPAN), "notes")

    return TreeInfo(
        root=root,
        files=written["files"],
        bytes=written["bytes"],
        restore_photo=restore_photo,
        categories=categories,
    )


def generate_scan_tree(root: Path, n_files: int, seed: int) -> int:
    """Create ``n_files`` small unique notes (64 B-2 KiB) in folders of 100.

    A home folder's many small files (code, mail, notes): used to see how backups,
    restores and peak memory grow with the file count, so content is cheap:
    overlapping windows of a text stream, each unique. Returns the total byte count.
    """
    if root.exists():
        raise FileExistsError(root)
    rng = random.Random(f"scan-{seed}")
    text = TextSource(seed)
    stride = 500
    per_archive = 4000
    # One text stream per archive folder (2 MB), not one for the whole tree: the
    # 1,000,000-file case would otherwise hold half a gigabyte of text at once.
    blob = b""
    total = 0
    current_dir: Path | None = None
    for i in range(n_files):
        if i % per_archive == 0:
            archive = i // per_archive
            blob = text.text(f"{seed}:scan:{archive}", per_archive * stride + 2 * KIB)
        d = root / f"archive-{i // per_archive:03d}" / f"box-{(i // 100) % 40:02d}"
        if d != current_dir:
            d.mkdir(parents=True, exist_ok=True)
            current_dir = d
        size = rng.randint(64, 2 * KIB)
        path = d / f"note-{i:07d}.txt"
        j = i % per_archive
        with open(path, "wb") as f:
            f.write(blob[j * stride : j * stride + size])
        mtime = _EPOCH_START + rng.randrange(_EPOCH_SPAN)
        os.utime(path, (mtime, mtime))
        total += size
    return total


@dataclass
class ChangeSummary:
    """What ``apply_change`` did, for the report and for sanity checks."""

    edited_middle: int = 0
    appended: int = 0
    new_photos: int = 0
    deleted: int = 0
    renamed_folder: str = ""
    renamed_files: int = 0
    bytes_written: int = 0

    @property
    def files_touched(self) -> int:
        return (
            self.edited_middle + self.appended + self.new_photos + self.deleted + self.renamed_files
        )

    def describe(self) -> str:
        return (
            f"{self.edited_middle} edited in the middle, {self.appended} appended,"
            f" {self.new_photos} new photo(s), {self.deleted} deleted,"
            f" 1 folder of {self.renamed_files} files renamed"
        )


def _regular_files(root: Path) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_file() and not p.is_symlink():
                out.append(p.relative_to(root).as_posix())
    return out


def apply_change(root: Path, seed: int, keep: str) -> ChangeSummary:
    """Change ~1% of the files deterministically, the way a week of use would.

    Edits in the middle (documents grow by an inserted paragraph, photos get a block
    rewritten in place, size unchanged), appends to notes and documents, a handful of
    new photos, deletions and one renamed notes folder. ``keep`` (the photo restored
    in the one-file step) is never touched. Changed files get a fixed mtime so the
    result is identical on every run; tools still see them as changed because size,
    mtime or ctime differ from what they recorded.
    """
    rng = random.Random(f"change-{seed}")
    text = TextSource(seed)
    files = _regular_files(root)
    n = max(10, len(files) // 100)
    summary = ChangeSummary()

    # Renamed folder: the notes section whose size is closest to ~20% of the changes.
    sections: dict[str, int] = {}
    for rel in files:
        if rel.startswith("Notes/notebook-"):
            folder = rel.rsplit("/", 1)[0]
            sections[folder] = sections.get(folder, 0) + 1
    want = max(2, n // 5)
    folder = min(sorted(sections), key=lambda f: (abs(sections[f] - want), f))
    (root / folder).rename(root / f"{folder} (renamed)")
    summary.renamed_folder = folder
    summary.renamed_files = sections[folder]
    remaining = [f for f in files if not f.startswith(folder + "/") and f != keep]

    photos = [f for f in remaining if f.endswith(".JPG") and "/Favourites/" not in f]
    docs = [f for f in remaining if f.startswith("Documents/")]
    notes = [f for f in remaining if f.startswith("Notes/") and f != "Notes/empty.md"]
    taken: set[str] = set()

    def pick(pool: list[str], count: int) -> list[str]:
        choices = [f for f in pool if f not in taken]
        chosen = sorted(rng.sample(choices, min(count, len(choices))))
        taken.update(chosen)
        return chosen

    def touched(path: Path) -> None:
        os.utime(path, (CHANGE_MTIME, CHANGE_MTIME))

    for i, rel in enumerate(pick(photos, max(1, n // 20))):
        path = root / rel
        size = path.stat().st_size
        patch = random_bytes(f"{seed}:edit-photo:{i}", min(64 * KIB, size // 4))
        with open(path, "r+b") as f:
            f.seek(size // 2)
            f.write(patch)
        touched(path)
        summary.edited_middle += 1
        summary.bytes_written += len(patch)
    for i, rel in enumerate(pick(docs, max(1, n * 3 // 10))):
        path = root / rel
        data = path.read_bytes()
        insert = text.text(f"{seed}:edit-doc:{i}", rng.randint(500, 4 * KIB))
        mid = len(data) // 2
        path.write_bytes(data[:mid] + insert + data[mid:])
        touched(path)
        summary.edited_middle += 1
        summary.bytes_written += len(insert)
    for i, rel in enumerate(pick(notes + docs, max(1, n * 3 // 10))):
        path = root / rel
        extra = text.text(f"{seed}:append:{i}", rng.randint(100, 2 * KIB))
        with open(path, "ab") as out:
            out.write(extra)
        touched(path)
        summary.appended += 1
        summary.bytes_written += len(extra)
    for rel in pick(notes + docs, max(1, n // 10)):
        (root / rel).unlink()
        summary.deleted += 1
    for i in range(max(1, n // 20)):
        size = rng.randint(1 * MIB, 8 * MIB)
        rel = f"Pictures/2025/2025-01 New event/IMG_{90_000 + i:05d}.JPG"
        _write(root / rel, jpeg_like(f"{seed}:new-photo:{i}", size), CHANGE_MTIME)
        summary.new_photos += 1
        summary.bytes_written += size
    return summary


def iter_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root`` (symlinks not followed), in sorted order."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if not p.is_symlink() and p.is_file():
                yield p


def tree_size(root: Path) -> tuple[int, int]:
    """(files, apparent bytes) of regular files under ``root``; used for vault size."""
    files = 0
    total = 0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if not os.path.islink(os.path.join(dirpath, name)):
                files += 1
                total += st.st_size
    return files, total


def warm(paths: list[Path]) -> int:
    """Read every file under ``paths`` so each tool starts from the same warm page cache.

    Returns bytes read. On tmpfs this only costs time, but it keeps the procedure
    identical across storage modes and tools.
    """
    buf = bytearray(4 * MIB)
    view = memoryview(buf)
    total = 0
    for base in paths:
        if not base.exists():
            continue
        for p in iter_files(base) if base.is_dir() else [base]:
            try:
                with open(p, "rb", buffering=0) as f:
                    while n := f.readinto(view):
                        total += n
            except OSError:
                continue
    return total
