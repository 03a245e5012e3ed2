"""Engine messages reworded for the desktop app.

The engine and storage write one sentence per error for both front ends, and some
end with advice for the command line ("create one with 'keepsake init'"). A person
in the desktop app cannot act on that, so every failure shown in the GUI passes
through :func:`for_desktop`, which swaps the command-line advice for the desktop's
own way to do the same thing, or drops it when there is none.
"""

from __future__ import annotations

import re

# A quoted CLI invocation: 'keepsake init', `keepsake connect dropbox`.
_COMMAND = re.compile(r"[`'\"]keepsake(?: [a-z-]+)+[`'\"]")

# (pattern matching a whole sentence of advice, its desktop wording or "" to drop it)
_ADVICE: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Check the location, or create one with 'keepsake init'\."),
        "Check the location, or choose a folder that holds a Keepsake backup.",
    ),
    (
        re.compile(r"Reconnect Dropbox \(run `keepsake connect dropbox`[^)]*\)\."),
        "Reconnect Dropbox: run the setup again and choose Dropbox.",
    ),
    (
        re.compile(r"Connect it in Keepsake's settings\s+or run `keepsake connect dropbox`\."),
        "Connect it in the setup.",
    ),
    (re.compile(r"Run 'keepsake check(?: --read-data)?'\."), "Details are in the log file."),
)

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def for_desktop(message: str) -> str:
    """``message`` without command-line advice (see the module docstring)."""
    if "keepsake" not in message:
        return message
    for pattern, replacement in _ADVICE:
        message = pattern.sub(replacement, message)
    # Anything else naming a command: drop that sentence rather than show it.
    kept = [s for s in _SENTENCE.split(message) if not _COMMAND.search(s)]
    return " ".join(kept).strip()
