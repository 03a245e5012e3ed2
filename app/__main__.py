"""Allow ``python -m app`` as an alias of the ``keepsake`` command."""

from app.cli import main

raise SystemExit(main())
