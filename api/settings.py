"""Settings of the HTTP service, from environment variables prefixed ``SPOTCHECK_`` (DESIGN.md B6).

The store settings (``SPOTCHECK_HOME``, ``SPOTCHECK_DATABASE_URL``,
``SPOTCHECK_LOG_KEY_FILE``, ``SPOTCHECK_ORIGIN``) are read by
:class:`ledger.config.Settings`, so the server and the CLI always open the same
store.  The service adds:

| variable | default | meaning |
|---|---|---|
| ``SPOTCHECK_HOST`` | ``127.0.0.1`` | address ``spotcheck serve`` binds |
| ``SPOTCHECK_PORT`` | ``8000`` | port ``spotcheck serve`` binds |
| ``SPOTCHECK_MAX_BODY_BYTES`` | ``1048576`` (1 MiB) | larger request bodies get 413 |
| ``SPOTCHECK_TICK_SECONDS`` | ``60`` | scheduler period for ``Ledger.tick`` (0: off) |
| ``SPOTCHECK_BATCH_WINDOW_MS`` | ``2`` | group commit: how long the writer gathers a batch |
| ``SPOTCHECK_MAX_BATCH`` | ``500`` | group commit: most commands in one transaction |
| ``SPOTCHECK_LOG_LEVEL`` | ``INFO`` | level of the JSON logs |

Nothing is read at import time (STYLE.md point 14): call :meth:`ApiSettings.from_env`.
pydantic-settings is not a dependency, so this is a frozen dataclass.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ledger.config import Settings
from ledger.errors import FormatError

MIB = 1024 * 1024
_RULE = "B6 settings"


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int) -> int:
    text = env.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise FormatError(_RULE, f"expected an integer, got {text!r}", field=name) from None
    if value < minimum:
        raise FormatError(_RULE, f"must be at least {minimum}, got {value}", field=name)
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float) -> float:
    text = env.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise FormatError(_RULE, f"expected a number, got {text!r}", field=name) from None
    if not value >= minimum:  # also refuses NaN
        raise FormatError(_RULE, f"must be at least {minimum}, got {text}", field=name)
    return value


@dataclass(frozen=True)
class ApiSettings:
    """Everything ``create_app`` needs; build it with :meth:`from_env` (B6)."""

    home: Path
    database_url: str
    log_key_file: Path
    origin: str
    host: str = "127.0.0.1"
    port: int = 8000
    max_body_bytes: int = MIB
    tick_seconds: float = 60.0
    batch_window_ms: float = 2.0
    max_batch: int = 500
    log_level: str = "INFO"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiSettings:
        """Read ``SPOTCHECK_*`` from ``env`` (default ``os.environ``).

        Raises ``FormatError`` (rule ``B6 settings``) naming the variable
        whose value is not usable.
        """
        env = dict(os.environ) if env is None else dict(env)
        store = Settings.from_env(env)
        level = env.get("SPOTCHECK_LOG_LEVEL", "INFO").upper()
        if not isinstance(logging.getLevelName(level), int):
            raise FormatError(_RULE, f"unknown log level {level!r}", field="SPOTCHECK_LOG_LEVEL")
        return cls(
            home=store.home,
            database_url=store.database_url,
            log_key_file=store.log_key_file,
            origin=store.origin,
            host=env.get("SPOTCHECK_HOST") or "127.0.0.1",
            port=_int(env, "SPOTCHECK_PORT", 8000, minimum=0),
            max_body_bytes=_int(env, "SPOTCHECK_MAX_BODY_BYTES", MIB, minimum=1024),
            tick_seconds=_float(env, "SPOTCHECK_TICK_SECONDS", 60.0, minimum=0.0),
            batch_window_ms=_float(env, "SPOTCHECK_BATCH_WINDOW_MS", 2.0, minimum=0.0),
            max_batch=_int(env, "SPOTCHECK_MAX_BATCH", 500, minimum=1),
            log_level=level,
        )

    def store(self) -> Settings:
        """The :class:`ledger.config.Settings` of the store this service opens."""
        return Settings(
            home=self.home,
            database_url=self.database_url,
            log_key_file=self.log_key_file,
            origin=self.origin,
        )
