"""Command-line interface (placeholder until the engine lands)."""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    from app import __version__

    print(f"keepsake {__version__}")
    return 0
