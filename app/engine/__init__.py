"""The vault engine: everything that knows the vault format, with no Qt.

``app.engine.vault.Vault`` is the facade the CLI and the services layer use; the
other modules each own one step (crypto, chunking, packing, cache, backup, restore,
versions, check). ``crypto`` is the only module that handles key material.
"""
