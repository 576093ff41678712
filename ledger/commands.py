"""Signed commands (DESIGN.md A3).

A person acts by signing a command on their own device.  ``sig`` signs the
bytes ``"spotcheck-ledger/1 command\\n"`` followed by the canonical JSON of the
command without its ``sig`` member.  The checks that need the log (key known,
not revoked, roles, nonce unused) live in :mod:`ledger.replay`; this module
holds the shape, the signature and the clock-skew rule.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature

from ledger.canonical import canonical
from ledger.errors import FormatError, SignatureError
from ledger.keys import KeyPair, b64decode, b64encode, is_key_id, load_public_key
from ledger.times import format_time, parse_time

COMMAND_CONTEXT = b"spotcheck-ledger/1 command\n"
COMMAND_MEMBERS = frozenset({"action", "args", "key", "nonce", "issued_at", "sig"})
MAX_SKEW_SECONDS = 300
_ACTION = re.compile(r"[a-z_]+\.[a-z_]+")

Command = dict[str, Any]


def signing_bytes(command: Command, encode: Callable[[Any], bytes] = canonical) -> bytes:
    """A3: the bytes ``sig`` covers — context line + canonical command without ``sig``.

    ``encode`` is :func:`ledger.canonical.canonical` or a function that gives
    the same bytes (the server's faster one, ledger/store/encoding.py).
    """
    body = {k: v for k, v in command.items() if k != "sig"}
    return COMMAND_CONTEXT + encode(body)


def sign_command(
    pair: KeyPair,
    action: str,
    args: dict[str, Any],
    *,
    issued_at: datetime | str,
    nonce: bytes | None = None,
) -> Command:
    """Build and sign a command (A3) with ``pair``; returns the six-member object."""
    stamp = issued_at if isinstance(issued_at, str) else format_time(issued_at)
    command: Command = {
        "action": action,
        "args": args,
        "key": pair.key_id,
        "nonce": b64encode(nonce if nonce is not None else os.urandom(16)),
        "issued_at": stamp,
    }
    command["sig"] = b64encode(pair.sign(signing_bytes(command)))
    return command


def check_command_shape(command: object) -> Command:
    """A3: exactly six members of the right types; returns the command.

    Raises FormatError naming the member and the rule.
    """
    if not isinstance(command, dict):
        raise FormatError("A3 command", "a command is a JSON object", field="command")
    members = set(command)
    if members != COMMAND_MEMBERS:
        missing = sorted(COMMAND_MEMBERS - members)
        extra = sorted(members - COMMAND_MEMBERS)
        reason = "a command has exactly action, args, key, nonce, issued_at, sig"
        if missing:
            reason += f"; missing {', '.join(missing)}"
        if extra:
            reason += f"; unexpected {', '.join(extra)}"
        raise FormatError("A3 command", reason, field="command")
    if not isinstance(command["action"], str) or not _ACTION.fullmatch(command["action"]):
        raise FormatError("A3 command", "action must look like 'cases.record_finding'",
                          field="action")
    if not isinstance(command["args"], dict):
        raise FormatError("A3 command", "args must be a JSON object", field="args")
    if not is_key_id(command["key"]):
        raise FormatError("A2 key id", "key must be 16 lowercase hex characters", field="key")
    b64decode(command["nonce"], field="nonce", length=16)
    parse_time(command["issued_at"], field="issued_at")
    b64decode(command["sig"], field="sig", length=64)
    return command


def verify_command_signature(command: Command, public_key: bytes) -> None:
    """A3: check ``sig`` with the signer's raw public key; SignatureError if it fails."""
    signature = b64decode(command.get("sig"), field="sig", length=64)
    try:
        load_public_key(public_key).verify(signature, signing_bytes(command))
    except InvalidSignature:
        raise SignatureError(
            "A3 signature", f"signature does not verify for key {command.get('key')}",
            field="sig",
        ) from None


def check_issued_at(command: Command, logged_at: datetime) -> None:
    """A3: ``issued_at`` within 300 seconds of the entry's ``logged_at``."""
    issued = parse_time(command["issued_at"], field="issued_at")
    skew = abs((logged_at - issued).total_seconds())
    if skew > MAX_SKEW_SECONDS:
        raise FormatError(
            "A3 issued_at",
            f"issued_at is {skew:.0f} s from logged_at, more than {MAX_SKEW_SECONDS} s",
            field="issued_at",
        )
