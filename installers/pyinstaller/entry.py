"""Frozen-app entry point: the same ``keepsake`` command as the console script."""

import multiprocessing

if __name__ == "__main__":
    # A full restore's helper process (app.engine.restore_split, started with spawn)
    # runs this executable again: freeze_support runs the helper and exits there.
    multiprocessing.freeze_support()

    from app.cli import main

    raise SystemExit(main())
