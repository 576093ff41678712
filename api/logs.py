"""Structured JSON logs with the request id (DESIGN.md B6).

One JSON object per line on stderr: ``ts``, ``level``, ``logger``, ``msg``,
``request_id`` (the ``X-Request-ID`` of the request being served, if any) and
any ``extra`` fields the caller passed.  :func:`uvicorn_log_config` gives
uvicorn the same format, so a server's whole output is machine-readable.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "spotcheck_request_id", default=None
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName",
}


def accept_request_id(value: str | None) -> str:
    """The caller's ``X-Request-ID`` when it is a sane token (<= 128 chars), else a new one."""
    if value is not None and _REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            body["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_") and name != "color_message":
                body[name] = value
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the ``spotcheck`` loggers to stderr as JSON lines (idempotent)."""
    logger = logging.getLogger("spotcheck")
    logger.setLevel(level)
    logger.propagate = False
    if not any(getattr(h, "_spotcheck_json", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._spotcheck_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def uvicorn_log_config(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config`` dict that makes uvicorn's own loggers write JSON lines too."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.logs.JsonFormatter"}},
        "handlers": {
            "stderr": {"class": "logging.StreamHandler", "formatter": "json",
                       "stream": "ext://sys.stderr"},
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.access": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
        },
    }
