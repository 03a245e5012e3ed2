"""Frozen-app entry point: the same ``keepsake`` command as the console script."""

from app.cli import main

raise SystemExit(main())
