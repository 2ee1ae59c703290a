"""Adapters: Telegram and the terminal, over the pure flow in `flows/` and the store in `storage/`."""
