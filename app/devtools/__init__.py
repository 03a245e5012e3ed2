"""Developer tools that ship with Keepsake but are not part of the desktop product.

Today that is the screenshot renderer behind ``keepsake screenshots DIR`` (a CLI
verb the README lists, used by ``make screenshots`` to keep docs/screenshots/ true
to the app). It drives the real app like a person would, so it sits above
``app.main`` and ``app.ui``; nothing in the product imports this package, only the
CLI verb does, lazily (import-linter's "Only the CLI reaches the dev tools").
"""
