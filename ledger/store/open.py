"""Open the ledger described by :class:`ledger.config.Settings`."""

from __future__ import annotations

from ledger.checkpoint import NoteSigner
from ledger.config import Settings
from ledger.keys import load_key_file
from ledger.store.backend import Backend
from ledger.store.ledger import Ledger


def open_ledger(settings: Settings, *, writer: bool = True, catch_up: bool = True) -> Ledger:
    """The ledger with its log key (when ``writer`` and the key file exists), caught up."""
    backend = Backend(settings.database_url)
    signer = None
    if writer and settings.log_key_file.exists():
        pair = load_key_file(settings.log_key_file)
        signer = NoteSigner(pair.private_key, settings.origin)
    ledger = Ledger(backend, signer=signer)
    if catch_up:
        ledger.catch_up()
    return ledger
