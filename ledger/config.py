"""Configuration by environment variables with the one prefix ``SPOTCHECK_`` (DESIGN.md B6).

Defaults run on a fresh machine: an SQLite file and key files under ``./var``.
Nothing here is read at import time; call :func:`Settings.from_env`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_ORIGIN = "chengde.example/spotcheck-ledger"


@dataclass(frozen=True)
class Settings:
    home: Path  # SPOTCHECK_HOME: var folder (keys, SQLite file)
    database_url: str  # SPOTCHECK_DATABASE_URL
    log_key_file: Path  # SPOTCHECK_LOG_KEY_FILE: the log's checkpoint-signing key
    origin: str  # SPOTCHECK_ORIGIN

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        home = Path(env.get("SPOTCHECK_HOME", "var"))
        url = env.get("SPOTCHECK_DATABASE_URL") or f"sqlite:///{home / 'spotcheck.db'}"
        return cls(
            home=home,
            database_url=url,
            log_key_file=Path(env.get("SPOTCHECK_LOG_KEY_FILE", str(home / "keys" / "log.key"))),
            origin=env.get("SPOTCHECK_ORIGIN", DEFAULT_ORIGIN),
        )

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"
