"""App-level persistent state outside the vault: settings, job history, secrets."""
