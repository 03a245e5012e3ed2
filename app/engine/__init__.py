"""The vault engine: everything that knows the vault format, with no Qt.

``app.engine.vault.Vault`` is the facade the CLI and the services layer use. Below
it, one module per job (``backup``, ``restore``, ``check``, ``prune``, ``versions``,
``retention``) works on a ``repository.Repository``, which reads and writes the
vault's objects through ``cache``, ``packer``, ``locks``, ``codec``, ``chunker``,
``crypto`` and ``tree`` (docs/ARCHITECTURE.md draws the layers; import-linter
checks them). ``crypto`` is the only module that handles key material.
"""
