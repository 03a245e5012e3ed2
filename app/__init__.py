"""Keepsake: client-side encrypted, incremental, deduplicated backups.

Layers (each imports only from layers below it): ui -> services -> engine/store ->
storage -> core. See docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
