"""The OpenAPI document: schemas of commands, receipts and problems (DESIGN.md A3, A8, A10).

FastAPI writes the paths; this module adds what it cannot know:

- the ``Command`` schema (A3) and one ``Command_<action>`` schema per action
  with its ``args`` (:mod:`api.actions`), with a signed example of each;
- the ``Receipt`` schema (A8) and the ``Problem`` schema (RFC 9457);
- every 4xx/5xx answer documented as ``application/problem+json``
  (FastAPI would document 422 as its own ``HTTPValidationError``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.actions import (
    ACTION_DOCS,
    COMMAND_SCHEMA,
    action_command_schema,
    example_command,
    schema_name,
)
from api.problems import PROBLEM_MEDIA_TYPE, PROBLEM_SCHEMA

RECEIPT_SCHEMA: dict[str, Any] = {
    "title": "Receipt",
    "description": "A8 receipt: check it offline with the log's verifier key "
                   "(`spotcheck-verify receipt`).",
    "type": "object",
    "required": ["index", "leaf_hash", "entry", "checkpoint", "inclusion"],
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "leaf_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "entry": {"type": "object", "description": "The entry (A4): format, index, "
                  "logged_at, stream, seq, type, data, command"},
        "checkpoint": {"type": "string", "description": "Signed checkpoint note (A6)"},
        "inclusion": {"type": "array", "items": {"type": "string"},
                      "description": "RFC 9162 audit path, base64, leaf side first"},
    },
    "additionalProperties": False,
}

COMMAND_PATH = "/v1/commands"
ACTION_PREFIX = "/v1/actions/"
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _problem_content(responses: dict[str, Any]) -> None:
    for code, response in responses.items():
        if code.isdigit() and int(code) >= 400:
            response["content"] = {PROBLEM_MEDIA_TYPE: {"schema": _PROBLEM_REF}}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """Return (and cache on ``app``) the enriched OpenAPI document."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description,
        routes=app.routes, tags=app.openapi_tags,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["Receipt"] = RECEIPT_SCHEMA
    schemas["Command"] = COMMAND_SCHEMA
    for action in ACTION_DOCS:
        schemas[schema_name(action)] = action_command_schema(action)
    for path, item in document.get("paths", {}).items():
        for operation in item.values():
            _problem_content(operation.get("responses", {}))
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            if path == COMMAND_PATH:
                body["examples"] = {
                    action: {"summary": ACTION_DOCS[action].summary,
                             "value": example_command(action)}
                    for action in ACTION_DOCS
                }
            elif path.startswith(ACTION_PREFIX):
                body["example"] = example_command(path[len(ACTION_PREFIX):])
    app.openapi_schema = document
    return document


def install_openapi(app: FastAPI) -> None:
    """Make ``app.openapi()`` (and ``/openapi.json``) serve :func:`build_openapi`."""

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi  # type: ignore[method-assign]
