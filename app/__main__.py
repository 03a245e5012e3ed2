"""Allow ``python -m app`` as an alias of the ``keepsake`` command."""

if __name__ == "__main__":  # not when a restore's helper process imports it (spawn)
    from app.cli import main

    raise SystemExit(main())
