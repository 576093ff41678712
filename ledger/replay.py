"""The log as a fold that checks every rule of Part A (DESIGN.md A1-A4, A7, A11, A12).

:class:`LogState` applies entries in order and refuses any entry that breaks
a rule of the format: canonical bytes (A1), the signed command (A3), the
entry's shape, index, stream position and time (A4), the trust chain (A7),
the draw rules (A11) and the table of actions, roles and streams (A12).  Both
the server's store (before it appends) and the verify tool use it, so a log
the server accepts is exactly a log the verifier accepts.

Every check of an entry runs before any change of state: a refused entry
leaves the state (size, root, keys, nonces, draws, teams) as it was.

Signature verification is separable: ``apply(..., verify_signatures=False)``
does everything else, and :meth:`LogState.command_signature_job` hands out
``(public_key, signature, message)`` so that a verifier can check signatures
in a process pool while the fold runs in order.

Registry and case contents (credit codes, findings, deadlines) are Part C
rules and are not checked here.  Two checks go past the letter of Part A
because the format's guarantees rest on them: an entry's ``data`` holds
every member of its signed ``args`` unchanged (it may add members, e.g. the
drawn ``replacement``), or the signature would not vouch for what is logged;
and a recusal's replacement is re-drawn (C3, ``replacement_after_recusal``),
because A12's ``team`` condition depends on it.  Standard library,
``cryptography`` and ``ledger`` modules only (the verifier's light path, B2).
"""

from __future__ import annotations

import binascii
import copy
import json
import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.canonical import MAX_DEPTH, MAX_SAFE_INTEGER, has_four_byte_utf8, parse_canonical
from ledger.checkpoint import parse_vkey
from ledger.commands import COMMAND_CONTEXT, COMMAND_MEMBERS, MAX_SKEW_SECONDS, signing_bytes
from ledger.domain.draws import (
    check_commit_reveal,
    parse_schedule,
    perform_draw,
    replacement_after_recusal,
)
from ledger.domain.roles import ACTION_OF_TYPE, ACTIONS, REGISTRY_STREAMS, ROOT, Alternative
from ledger.domain.sampling import Mapper
from ledger.entries import ENTRY_MEMBERS, FORMAT, SYSTEM_TYPES
from ledger.errors import (
    AuthorityError,
    ConflictError,
    FormatError,
    LedgerError,
    RuleError,
    SignatureError,
)
from ledger.keys import b64decode, key_id, load_public_key
from ledger.merkle import RootAccumulator, leaf_hash
from ledger.times import parse_time

__all__ = [
    "PERFORMED_FIELDS",
    "DrawLog",
    "KeyInfo",
    "LogState",
    "parse_entry_bytes",
    "signature_message",
]

Entry = dict[str, Any]
SignatureJob = tuple[bytes, bytes, bytes]
"""``(raw public key, signature, signed message)`` of one command (A3)."""

#: The ``DrawPerformed`` fields of A11 a verifier compares (others may be added).
PERFORMED_FIELDS = ("draw_id", "checkpoint", "seed", "selection", "teams")
#: The ``CaseOpened`` fields compared with the draw (our server adds case_id, task_id).
CASE_FIELDS = ("draw_id", "enterprise", "inspectors")

_STREAM = re.compile(r"[a-z_]+/[^\s/][^\s]*|ledger")
_TYPE = re.compile(r"[A-Z][A-Za-z]+")
_ACTION = re.compile(r"[a-z_]+\.[a-z_]+")
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_NONCE = re.compile(r"[A-Za-z0-9+/]{21}[AQgw]==")  # canonical base64 of 16 bytes
_SIG = re.compile(r"[A-Za-z0-9+/]{85}[AQgw]==")  # canonical base64 of 64 bytes
_COMMAND_CHECKS = (  # A3 member shapes; a known action name passes without its pattern
    ("action", _ACTION, "must look like 'cases.record_finding'"),
    ("key", _KEY_ID, "must be 16 lowercase hex characters (A2)"),
    ("nonce", _NONCE, "must be canonical base64 of 16 bytes"),
    ("sig", _SIG, "must be canonical base64 of 64 bytes"),
)
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KNOWN_TYPES = SYSTEM_TYPES | frozenset(ACTION_OF_TYPE)  # all of them match _TYPE
_KEY_ACTIONS = frozenset({"keys.register", "keys.revoke"})
_CASE_TYPES = frozenset(
    spec.entry_type for spec in ACTIONS.values() if spec.stream_kind == "case"
) | {"RectificationOverdue", "PublicationOverdue"}


# ---------------------------------------------------------------------------
# A1: canonical bytes, fast


class _NotFast(Exception):
    """The fast path cannot decide; the strict parser will."""


def _refuse_number(text: str) -> Any:
    raise _NotFast(text)


def _safe_int(text: str) -> int:
    value = int(text)
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise _NotFast(text)
    return value


_DECODER = json.JSONDecoder(
    parse_float=_refuse_number, parse_int=_safe_int, parse_constant=_refuse_number
)
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _no_default(value: object) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON")


def _make_encode() -> Callable[[Any], str]:
    """Sorted compact ``json.dumps`` (RFC 8785 for BMP member names and no floats).

    Uses the C encoder built once (what ``JSONEncoder.encode`` builds per
    call) when the interpreter has it.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    c_encode = make(
        None, _no_default, json.encoder.encode_basestring, None, ":", ",", True, False, False
    )

    def encode(value: Any) -> str:
        return "".join(c_encode(value, 0))

    return encode


_encode = _make_encode()


def _parse_fast(data: bytes) -> tuple[Any, str | None] | None:
    """The fast A1 check: ``(value, canonical text of its command)``, or None to go strict.

    C ``json`` parses the bytes and the sorted compact dump must give them
    back byte for byte.  An entry is dumped as ``{"command":`` + command +
    the rest ("command" sorts first among the eight members), so the
    command's canonical text comes for free.
    """
    if data.count(b"{") + data.count(b"[") > MAX_DEPTH or has_four_byte_utf8(data):
        return None
    try:
        text = data.decode("utf-8")
        value, end = _SCAN(text, 0)
        if end != len(text):
            return None
        command_text = None
        if type(value) is dict and value.keys() == ENTRY_MEMBERS and type(
            value["command"]
        ) is dict:
            command_text = _encode(value["command"])
            rest_of = dict(value)
            del rest_of["command"]
            rest = _encode(rest_of)
            again = '{"command":' + command_text + "," + rest[1:]
        else:
            again = _encode(value)
        if again.encode("utf-8") != data:
            return None
    except (ValueError, TypeError, StopIteration, _NotFast, RecursionError):
        return None  # UnicodeError is a ValueError
    return value, command_text


def parse_entry_bytes(data: bytes, index: int | None = None) -> Any:
    """Parse canonical entry bytes (A1); same verdict as ``ledger.canonical.parse_canonical``.

    The common case takes a fast path: C ``json`` parses the bytes and the
    sorted compact dump must give them back byte for byte, which for member
    names inside the Basic Multilingual Plane is RFC 8785.  Bytes the fast
    path cannot judge (floats, NaN, integers beyond 2^53-1, characters
    outside the BMP, deep nesting, invalid UTF-8, anything that does not
    round-trip) go through the strict parser, which accepts or names the
    rule.  Returns the JSON value; raises ``FormatError`` (rule
    ``A1 canonical``) carrying ``index``.
    """
    fast = _parse_fast(data)
    if fast is not None:
        return fast[0]
    return _parse_strict(data, index)


def _parse_strict(data: bytes, index: int | None) -> Any:
    try:
        return parse_canonical(data)
    except FormatError as exc:
        raise FormatError(exc.rule, exc.reason, field=exc.field, index=index) from None
    except ValueError as exc:  # e.g. an integer literal beyond Python's digit limit
        raise FormatError("A1 canonical", f"not I-JSON: {exc}", index=index) from None


def signature_message(command: Mapping[str, Any], command_text: str | None = None) -> bytes:
    """A3: the bytes ``sig`` signs, for a command read from canonical entry bytes.

    Same result as :func:`ledger.commands.signing_bytes`, without re-checking
    A1 (the entry already passed it); text outside the Basic Multilingual
    Plane takes the RFC 8785 path.  ``command_text``, the command's canonical
    text when already known, saves the dump: ``sig`` is its last member.
    """
    if command_text is not None:
        tail = f',"sig":"{command.get("sig")}"}}'
        if command_text.endswith(tail):
            return COMMAND_CONTEXT + (command_text[: -len(tail)] + "}").encode("utf-8")
    body = {k: v for k, v in command.items() if k != "sig"}
    message = _encode(body).encode("utf-8")
    if has_four_byte_utf8(message):
        return signing_bytes(dict(command))
    return COMMAND_CONTEXT + message


# ---------------------------------------------------------------------------
# State


@dataclass(frozen=True)
class KeyInfo:
    """A key known to the log (A7): a root key of the genesis or a registered key."""

    key: str
    public_key: bytes
    holder: dict[str, Any]
    roles: frozenset[str]
    valid_from: datetime
    root: bool
    registered_at: int
    revoked_at: int | None = None

    @cached_property
    def inspector(self) -> str | None:
        """The holder's inspector id (A7 ``holder.inspector``), used by ``team`` and ``own``."""
        value = self.holder.get("inspector")
        return value if isinstance(value, str) else None


@dataclass
class DrawLog:
    """What the log says about one draw so far (A11)."""

    draw_id: str
    scheduled: dict[str, Any]
    scheduled_at: int
    parties: dict[str, str]
    commitments: dict[str, str] = field(default_factory=dict)
    reveals: dict[str, str] = field(default_factory=dict)
    commit_checkpoint: tuple[int, str] | None = None
    performed: dict[str, Any] | None = None
    performed_at: int | None = None
    voided: bool = False
    cases: list[str] = field(default_factory=list)
    _expected: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def expected_performed(self, mapper: Mapper | None = None) -> dict[str, Any]:
        """``perform_draw`` over the reveals at :attr:`commit_checkpoint` (A11, cached).

        ``mapper`` lets a large draw's inspector orders be computed in
        parallel (same result).  Raises ``RuleError`` when the reveals are
        not complete.
        """
        if self._expected is None:
            if self.commit_checkpoint is None or len(self.reveals) != len(self.parties):
                raise RuleError("A11 draw", f"draw {self.draw_id!r} has not all its reveals")
            size, root_hex = self.commit_checkpoint
            self._expected = perform_draw(
                self.scheduled, self.reveals, size, root_hex, mapper=mapper
            )
        return self._expected


@dataclass(frozen=True)
class _Due:
    """A system entry the log owes at the next index (A12)."""

    type: str
    stream: str
    draw_id: str
    enterprise: str = ""
    inspectors: tuple[str, ...] = ()


def _at(exc: LedgerError, index: int) -> LedgerError:
    """The same kind of error (its ``ledger.errors`` class), carrying the entry index."""
    for cls in type(exc).__mro__:
        if cls.__module__ == LedgerError.__module__ and issubclass(cls, LedgerError):
            return cls(exc.rule, exc.reason, field=exc.field, index=index)
    raise AssertionError("bad math: a LedgerError outside ledger.errors")


def _time(text: object, field: str, index: int) -> datetime:
    """An A1 time string as an aware datetime (``ledger.times.parse_time``, with the index)."""
    try:
        return parse_time(text, field)
    except FormatError as exc:
        raise _at(exc, index) from None


def _text(data: Mapping[str, Any], name: str, index: int, rule: str = "A12 stream") -> str:
    value = data.get(name)
    if type(value) is not str or not value:
        raise FormatError(rule, f"data.{name} must be a non-empty string", field=f"data.{name}",
                          index=index)
    return value


_MISSING = object()


def _same_json(a: Any, b: Any) -> bool:
    """Equal JSON values, where ``1`` and ``true`` differ (unlike ``==``)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same_json(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(map(_same_json, a, b))
    return bool(a == b)


def _first_difference(expected: Any, found: Any, path: str) -> str | None:
    """Where two JSON values first differ, as ``path: expected X, found Y``; None if equal.

    Members of ``found`` that ``expected`` lacks are not compared (A11: entry
    types may gain fields); ``1`` and ``true`` differ.
    """
    if isinstance(expected, dict) and isinstance(found, dict):
        for name in expected:
            if name not in found:
                return f"{path}.{name}: missing"
            diff = _first_difference(expected[name], found[name], f"{path}.{name}")
            if diff:
                return diff
        return None
    if isinstance(expected, list) and isinstance(found, list):
        for i, (a, b) in enumerate(zip(expected, found, strict=False)):
            diff = _first_difference(a, b, f"{path}[{i}]")
            if diff:
                return diff
        if len(expected) != len(found):
            return f"{path}: expected {len(expected)} items, found {len(found)}"
        return None
    if type(expected) is type(found) and expected == found:
        return None
    shown = json.dumps(expected, ensure_ascii=False), json.dumps(found, ensure_ascii=False)
    return f"{path}: expected {shown[0]}, found {shown[1]}"


class LogState:
    """The fold over the log that enforces Part A (A1-A4, A7, A11, A12).

    ``vkey`` (the log's verifier key) and ``genesis_hash`` (hex leaf hash of
    entry 0), when given, pin entry 0.  ``verify_signatures=False`` leaves
    command signatures to the caller (see :meth:`command_signature_job`).
    """

    def __init__(
        self,
        *,
        vkey: str | None = None,
        genesis_hash: str | None = None,
        verify_signatures: bool = True,
    ) -> None:
        self.vkey = vkey
        self.genesis_hash = genesis_hash.lower() if genesis_hash is not None else None
        self.verify_signatures = verify_signatures
        self.size = 0
        self.origin: str | None = None
        self.log_vkey: str | None = None
        self.last_logged_at: datetime | None = None
        self.keys: dict[str, KeyInfo] = {}
        self.draws: dict[str, DrawLog] = {}
        self._acc = RootAccumulator()
        self._last_time = ""
        self._streams: dict[str, int] = {}
        self._nonces: set[tuple[str, str]] = set()
        self._teams: dict[str, tuple[str, ...]] = {}
        self._due: deque[_Due] = deque()  # owed system entries, next first
        self._case_of: dict[str, tuple[str, str]] = {}
        self._recusals: dict[str, tuple[str, ...]] = {}
        self._conflicts: list[tuple[int, str, str]] = []
        self._verifiers: dict[str, Ed25519PublicKey] = {}
        # (command, public key) -> the Ed25519 verdict computed ahead, or None:
        # ``ledger.sigcheck.Prechecks.lookup`` while a store batch runs.
        self.prechecked: Callable[[Any, bytes], bool | None] | None = None
        # Spreads a large draw's replay over processes (e.g. the verifier's pool).
        self.draw_mapper: Mapper | None = None
        self._command_text: tuple[Any, str | None] = (None, None)
        # The command check_signer last passed, on the state of that size: the store's
        # entry for that very command object (unchanged since) is not checked again.
        self._signer_passed: tuple[Any, int, datetime, bool, KeyInfo] | None = None

    # -- queries -------------------------------------------------------------
    def root(self) -> bytes:
        """The Merkle root of the entries applied so far (A5)."""
        return self._acc.root()

    def stored_roots(self) -> dict[int, bytes]:
        """Stored-hash index -> root of each complete subtree of the log so far (A5)."""
        return self._acc.stored_roots()

    def stream_seq(self, stream: str) -> int:
        """The last ``seq`` of ``stream``; 0 for a stream with no entry yet (A4)."""
        return self._streams.get(stream, 0)

    def team(self, case_stream: str) -> tuple[str, ...]:
        """The case's current team: ``CaseOpened`` then each recusal's replacement (A12)."""
        return self._teams.get(case_stream, ())

    def case_exists(self, stream: str) -> bool:
        """True once ``CaseOpened`` has opened ``stream`` (``case/<draw id>:<enterprise>``)."""
        return stream in self._teams

    def draw(self, draw_id: str) -> DrawLog | None:
        """What the log holds about draw ``draw_id``, or None (A11)."""
        return self.draws.get(draw_id)

    def pending_system_entries(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The system entries owed right now, in order, as ``(type, stream, data)`` (A12).

        After the reveal that completes a draw: its ``DrawPerformed`` and then
        one ``CaseOpened`` per selected enterprise (data with the A11 fields
        only; a writer may add fields).  Empty when nothing is owed.
        """
        out: list[tuple[str, str, dict[str, Any]]] = []
        for due in self._due:
            if due.type == "DrawPerformed":
                performed = self.draws[due.draw_id].expected_performed(self.draw_mapper)
                out.append((due.type, due.stream, copy.deepcopy(performed)))
                for team in performed["teams"]:
                    out.append(self._case_due(due.draw_id, team["enterprise"],
                                              team["inspectors"]))
            else:
                out.append(self._case_due(due.draw_id, due.enterprise, list(due.inspectors)))
        return out

    @staticmethod
    def _case_due(
        draw_id: str, enterprise: str, team: list[str]
    ) -> tuple[str, str, dict[str, Any]]:
        data = {"draw_id": draw_id, "enterprise": enterprise, "inspectors": list(team)}
        return ("CaseOpened", f"case/{draw_id}:{enterprise}", data)

    def command_signature_job(self, entry: Mapping[str, Any]) -> SignatureJob | None:
        """``(public_key, signature, message)`` to check an applied entry's command (A3).

        None for a system entry.  Call it after the entry's signer checks
        passed (e.g. right after :meth:`apply`); the message is computed as
        :func:`signature_message` does.
        """
        command = entry.get("command")
        if command is None:
            return None
        key = self.keys[command["key"]]
        last, text = self._command_text
        message = signature_message(command, text if last is entry else None)
        # The shape check (A3) made ``sig`` canonical base64 of 64 bytes.
        return key.public_key, binascii.a2b_base64(command["sig"]), message

    # -- A3 ------------------------------------------------------------------
    def check_signer(self, command: dict[str, Any], logged_at: datetime, *, index: int) -> KeyInfo:
        """Check a signed command against the log before entry ``index`` (A3, A7).

        Shape; key known, not revoked (a key revoked at entry r signs r itself
        and nothing after), ``valid_from`` not after ``logged_at``; signature
        (unless the state skips signatures); (key, nonce) unused; ``issued_at``
        within 300 s of ``logged_at`` (naive means UTC).  Returns the signer's
        :class:`KeyInfo`.
        Raises FormatError, AuthorityError, SignatureError or ConflictError
        (HTTP 409, reused nonce) with the rule and ``index``.
        """
        if logged_at.tzinfo is None:
            logged_at = logged_at.replace(tzinfo=UTC)
        key = self._check_signer(command, logged_at, index, self.verify_signatures, False)
        if index == self.size:
            self._signer_passed = (command, index, logged_at, self.verify_signatures, key)
        return key

    def _check_signer(
        self,
        command: Any,
        logged_at: datetime,
        index: int,
        verify: bool,
        from_entry: bool,
    ) -> KeyInfo:
        issued = self._check_command_shape(command, index, self.keys)
        key = self.keys.get(command["key"])
        if key is None:
            raise AuthorityError("A3 key unknown", f"key {command['key']} is not registered",
                                 field="command.key", index=index)
        if key.revoked_at is not None and index > key.revoked_at:
            raise AuthorityError(
                "A7 key revoked", f"key {key.key} was revoked at entry {key.revoked_at}",
                field="command.key", index=index,
            )
        if key.valid_from > logged_at:
            raise AuthorityError(
                "A3 valid_from",
                f"key {key.key} is valid from {key.valid_from.isoformat()}, "
                f"after logged_at {logged_at.isoformat()}",
                field="command.key", index=index,
            )
        if verify:
            known = None if self.prechecked is None else self.prechecked(command, key.public_key)
            if known is None:
                message = signature_message(command) if from_entry else signing_bytes(command)
                self._verify(key, command, message, index)
            elif not known:
                raise SignatureError(
                    "A3 signature", f"signature does not verify for key {key.key}",
                    field="command.sig", index=index,
                )
        if (key.key, command["nonce"]) in self._nonces:
            raise ConflictError(
                "A3 nonce", f"key {key.key} already used nonce {command['nonce']}",
                field="command.nonce", index=index,
            )
        skew = abs((logged_at - issued).total_seconds())
        if skew > MAX_SKEW_SECONDS:
            raise FormatError(
                "A3 issued_at",
                f"issued_at is {skew:.1f} s from logged_at, more than {MAX_SKEW_SECONDS} s",
                field="command.issued_at", index=index,
            )
        return key

    @staticmethod
    def _check_command_shape(
        command: Any, index: int, known_keys: Mapping[str, KeyInfo] | None = None
    ) -> datetime:
        """A3: exactly the six members, well formed; returns ``issued_at``."""
        if type(command) is not dict:
            raise FormatError("A3 command", "a command is a JSON object", field="command",
                              index=index)
        if command.keys() != COMMAND_MEMBERS:
            members = set(command)
            missing = ", ".join(sorted(COMMAND_MEMBERS - members)) or "none"
            extra = ", ".join(sorted(members - COMMAND_MEMBERS)) or "none"
            raise FormatError(
                "A3 command",
                "a command has exactly action, args, key, nonce, issued_at, sig; "
                f"missing {missing}; unexpected {extra}",
                field="command", index=index,
            )
        for name, pattern, reason in _COMMAND_CHECKS:
            value = command[name]
            if type(value) is not str or not (
                (name == "action" and value in ACTIONS)
                or (name == "key" and known_keys is not None and value in known_keys)
                or pattern.fullmatch(value)
            ):
                raise FormatError("A3 command", f"{name} {reason}", field=f"command.{name}",
                                  index=index)
        if type(command["args"]) is not dict:
            raise FormatError("A3 command", "args must be a JSON object", field="command.args",
                              index=index)
        return _time(command["issued_at"], "command.issued_at", index)

    def _verify(self, key: KeyInfo, command: Mapping[str, Any], message: bytes, index: int) -> None:
        public = self._verifiers.get(key.key)
        if public is None:
            public = self._verifiers[key.key] = load_public_key(key.public_key)
        signature = b64decode(command["sig"], field="command.sig", length=64)
        try:
            public.verify(signature, message)
        except InvalidSignature:
            raise SignatureError(
                "A3 signature", f"signature does not verify for key {key.key}",
                field="command.sig", index=index,
            ) from None

    # -- A12 / A7 ------------------------------------------------------------
    def authorize(
        self, command: dict[str, Any], key: KeyInfo, *, stream: str, data: dict[str, Any],
        index: int,
    ) -> None:
        """Check that ``key`` may sign ``command`` for an entry on ``stream`` with ``data``.

        A12: one of the action's alternatives holds (role, plus ``team``:
        the holder's inspector is on the case's current team, ``own``:
        ``data.inspector`` is the holder's inspector, ``named``: the key named
        for ``data.party`` in the draw).  A7: root keys sign only
        ``keys.register``/``keys.revoke``; only a root key revokes a root
        key; a key id that exists cannot be registered again; only a known,
        unrevoked key can be revoked.  Raises AuthorityError or RuleError.
        """
        action = command["action"]
        spec = ACTIONS.get(action)
        if spec is None:
            raise FormatError("A12 action", f"unknown action {action!r}", field="command.action",
                              index=index)
        if key.root:
            if action not in _KEY_ACTIONS:
                raise AuthorityError(
                    "A7 separation of duties",
                    f"root key {key.key} signs only keys.register and keys.revoke, not {action}",
                    field="command.key", index=index,
                )
        elif not any(self._holds(alt, key, stream, data) for alt in spec.signers):
            needs = " or ".join(
                alt.role + (f" ({', '.join(sorted(alt.conditions))})" if alt.conditions else "")
                for alt in spec.signers
            )
            roles = ", ".join(sorted(key.roles)) or "none"
            raise AuthorityError(
                "A12 roles", f"key {key.key} (roles: {roles}) may not {action}: needs {needs}",
                field="command.key", index=index,
            )
        if action == "keys.register":
            if data.get("key") in self.keys:
                raise RuleError("A7 key exists", f"key {data.get('key')} is already registered",
                                field="data.key", index=index)
        elif action == "keys.revoke":
            kid = data.get("key")
            target = self.keys.get(kid) if isinstance(kid, str) else None
            if target is None:
                raise RuleError("A7 revoke", f"key {data.get('key')!r} is not registered",
                                field="data.key", index=index)
            if target.revoked_at is not None:
                raise RuleError(
                    "A7 revoke", f"key {target.key} was already revoked at entry "
                    f"{target.revoked_at}", field="data.key", index=index,
                )
            if target.root and not key.root:
                raise AuthorityError(
                    "A7 root revocation", f"only a root key may revoke root key {target.key}",
                    field="command.key", index=index,
                )

    def _holds(self, alt: Alternative, key: KeyInfo, stream: str, data: Mapping[str, Any]) -> bool:
        if alt.role == ROOT or alt.role not in key.roles:
            return False
        inspector = key.inspector
        for condition in alt.conditions:
            if condition == "team":
                if inspector is None or inspector not in self._teams.get(stream, ()):
                    return False
            elif condition == "own":
                if inspector is None or data.get("inspector") != inspector:
                    return False
            elif condition == "named":
                draw_id, party = data.get("draw_id"), data.get("party")
                draw = self.draws.get(draw_id) if isinstance(draw_id, str) else None
                if draw is None or not isinstance(party, str) or draw.parties.get(party) != key.key:
                    return False
            else:
                return False
        return True

    # -- apply ---------------------------------------------------------------
    def apply(
        self, data: bytes, *, index: int | None = None, verify_signatures: bool | None = None
    ) -> Entry:
        """Check canonical entry bytes against every Part A rule and apply them.

        ``index`` is the position the caller read the bytes at (it must be
        the current size); ``verify_signatures`` overrides the state's
        setting for this entry.  Returns the parsed entry.  Raises a
        ``LedgerError`` naming the rule and the index; the state is then
        unchanged.
        """
        position = self.size if index is None else index
        if position != self.size:
            raise FormatError("A4 index", f"entry at position {position}, but the log holds "
                              f"{self.size} entries", field="index", index=position)
        fast = _parse_fast(data)
        if fast is None:
            entry, command_text = _parse_strict(data, position), None
        else:
            entry, command_text = fast
        self.apply_entry(entry, data, verify_signatures=verify_signatures)
        self._command_text = (entry, command_text)
        return entry

    def apply_entry(
        self, entry: Entry, data: bytes, *, verify_signatures: bool | None = None
    ) -> None:
        """Check a parsed entry and apply it; ``data`` are its canonical bytes (A1).

        The caller vouches that ``data`` is the canonical form of ``entry``
        (:meth:`apply` checks it).  Every rule of A3, A4, A7, A11 and A12 is
        checked before anything changes.  Raises a ``LedgerError``.
        """
        verify = self.verify_signatures if verify_signatures is None else verify_signatures
        index = self.size
        logged_at = self._check_shape(entry, index)
        kind: str = entry["type"]
        stream: str = entry["stream"]
        body: dict[str, Any] = entry["data"]
        command = entry["command"]

        # A12: the system entries the log owes come first, and none other.
        if self._due:
            due = self._due[0]
            if kind != due.type:
                raise RuleError(
                    "A12 system entry",
                    f"{due.type} of draw {due.draw_id!r} is due at this index, found {kind}",
                    field="type", index=index,
                )
        elif kind in ("DrawPerformed", "CaseOpened"):
            raise RuleError("A12 system entry", f"{kind} is not due at this index",
                            field="type", index=index)
        if (index == 0) != (kind == "LedgerGenesis"):
            raise RuleError("A7 genesis", "entry 0, and only entry 0, is LedgerGenesis",
                            field="type", index=index)

        # A12: the stream each type is written to; A4: its seq.
        expected = self._expected_stream(kind, stream, body, index)
        if stream != expected:
            raise FormatError("A12 stream", f"{kind} belongs to stream {expected!r}, "
                              f"found {stream!r}", field="stream", index=index)
        if entry["seq"] != self._streams.get(stream, 0) + 1:
            raise ConflictError(
                "A4 seq", f"seq {entry['seq']} in {stream}, expected "
                f"{self._streams.get(stream, 0) + 1}", field="seq", index=index,
            )

        # A3, A7, A12: the signed command.
        if command is not None:
            passed = self._signer_passed
            if (
                passed is not None and passed[0] is command and passed[1] == index
                and passed[2] == logged_at and (passed[3] or not verify)
            ):
                key = passed[4]  # check_signer passed this very command on this very state
            else:
                key = self._check_signer(command, logged_at, index, verify, True)
            spec = ACTIONS.get(command["action"])
            if spec is None:
                raise FormatError("A12 action", f"unknown action {command['action']!r}",
                                  field="command.action", index=index)
            if spec.entry_type != kind:
                raise FormatError("A4 type", f"action {spec.action} causes {spec.entry_type}, "
                                  f"not {kind}", field="type", index=index)
            self.authorize(command, key, stream=stream, data=body, index=index)
            args = command["args"]
            for name, value in args.items():
                found = body.get(name, _MISSING)
                if found is not value and (type(value) is not type(found) or (
                    value != found if type(value) is str else not _same_json(value, found)
                )):
                    raise RuleError(
                        "A4 data", f"data.{name} is not what the signed command's args say",
                        field=f"data.{name}", index=index,
                    )
            nonce: tuple[str, str] | None = (key.key, command["nonce"])
        else:
            nonce = None

        if index == 0 and self.genesis_hash is not None:
            found = leaf_hash(data).hex()
            if found != self.genesis_hash:
                raise AuthorityError("A7 genesis", f"genesis hash is {found}, expected "
                                     f"{self.genesis_hash}", index=index)

        handler = _HANDLERS.get(kind)
        effect = handler(self, entry, index, logged_at) if handler is not None else None

        # Commit: nothing above changed the state.
        self._acc.add(leaf_hash(data))
        self.size = index + 1
        self._streams[stream] = entry["seq"]
        self._last_time = entry["logged_at"]
        self.last_logged_at = logged_at
        if nonce is not None:
            self._nonces.add(nonce)
        if effect is not None:
            effect()

    def _check_shape(self, entry: Any, index: int) -> datetime:
        """A4: eight members, types, dense index, non-decreasing time, command vs type."""
        if type(entry) is not dict or entry.keys() != ENTRY_MEMBERS:
            raise FormatError(
                "A4 entry",
                "an entry has exactly format, index, logged_at, stream, seq, type, data, command",
                index=index,
            )
        if entry["format"] != FORMAT:
            raise FormatError("A4 entry", f"format must be {FORMAT!r}", field="format",
                              index=index)
        if type(entry["index"]) is not int or entry["index"] != index:
            raise FormatError("A4 index", f"entry says index {entry['index']!r}, expected {index}",
                              field="index", index=index)
        stamp = entry["logged_at"]
        if stamp == self._last_time and self.last_logged_at is not None:
            logged_at = self.last_logged_at  # a batch's entries share one time
        else:
            logged_at = _time(stamp, "logged_at", index)
        if stamp < self._last_time:
            raise FormatError("A4 logged_at", f"logged_at {stamp} is before the previous "
                              f"entry's {self._last_time}", field="logged_at", index=index)
        stream = entry["stream"]
        if type(stream) is not str or (
            stream not in self._streams and not _STREAM.fullmatch(stream)
        ):
            raise FormatError("A4 entry", "stream must be '<kind>/<id>'", field="stream",
                              index=index)
        if type(entry["seq"]) is not int or entry["seq"] < 1:
            raise FormatError("A4 entry", "seq must be a positive integer", field="seq",
                              index=index)
        kind = entry["type"]
        if type(kind) is not str or (
            kind not in _KNOWN_TYPES and not _TYPE.fullmatch(kind)
        ):
            raise FormatError("A4 entry", "type must be an entry type name", field="type",
                              index=index)
        if type(entry["data"]) is not dict:
            raise FormatError("A4 entry", "data must be an object", field="data", index=index)
        if kind in SYSTEM_TYPES:
            if entry["command"] is not None:
                raise FormatError("A4 command", f"{kind} is a system entry: command must be null",
                                  field="command", index=index)
        elif kind in ACTION_OF_TYPE:
            if entry["command"] is None:
                raise FormatError("A4 command", f"{kind} needs the signed command that caused it",
                                  field="command", index=index)
        else:
            raise FormatError("A12 type", f"unknown entry type {kind!r}", field="type",
                              index=index)
        return logged_at

    def _expected_stream(self, kind: str, stream: str, data: Mapping[str, Any], index: int) -> str:
        """A7, A12: the stream an entry of ``kind`` with ``data`` must be on."""
        if kind in _CASE_TYPES and kind != "CaseOpened":
            if stream not in self._teams:
                raise RuleError("A12 stream", f"{kind} needs an opened case, {stream!r} is not one",
                                field="stream", index=index)
            return stream
        if kind in REGISTRY_STREAMS:
            return REGISTRY_STREAMS[kind]
        if kind in ("KeyRegistered", "KeyRevoked"):
            return "key/" + _text(data, "key", index)
        if kind.startswith("Draw"):
            return "draw/" + _text(data, "draw_id", index)
        if kind == "LedgerGenesis":
            return "ledger"
        if kind == "CaseOpened":
            return f"case/{_text(data, 'draw_id', index)}:{_text(data, 'enterprise', index)}"
        if kind == "PlanImported":
            return "plan/" + _text(data, "plan_no", index)
        if kind == "ReportPublished":
            return "report/" + _text(data, "report_id", index)
        if kind == "WorkCalendarSet":
            year = data.get("year")
            if type(year) is not int:
                raise FormatError("A12 stream", "data.year must be an integer",
                                  field="data.year", index=index)
            return f"calendar/{year}"
        raise AssertionError(f"bad math: no stream rule for {kind}")

    # -- A7 entries ----------------------------------------------------------
    def _genesis(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        data = entry["data"]
        rule = "A7 genesis"
        origin = _text(data, "origin", index, rule)
        log_vkey = _text(data, "log_vkey", index, rule)
        _time(data.get("created_at"), "data.created_at", index)
        if self.vkey is not None and log_vkey != self.vkey:
            raise AuthorityError(rule, f"log_vkey {log_vkey!r} is not the log key {self.vkey!r}",
                                 field="data.log_vkey", index=index)
        try:
            verifier = parse_vkey(log_vkey)
        except LedgerError as exc:
            raise FormatError(rule, f"log_vkey: {exc.reason}", field="data.log_vkey",
                              index=index) from None
        if verifier.name != origin:
            raise FormatError(rule, f"origin {origin!r} is not the log key's name "
                              f"{verifier.name!r}", field="data.origin", index=index)
        roots = data.get("root_keys")
        if type(roots) is not list or not roots:
            raise FormatError(rule, "root_keys must be a non-empty list", field="data.root_keys",
                              index=index)
        infos: dict[str, KeyInfo] = {}
        for i, item in enumerate(roots):
            where = f"data.root_keys[{i}]"
            if type(item) is not dict:
                raise FormatError(rule, "a root key is an object", field=where, index=index)
            info = self._key_info(item, where, index, roots=True, valid_from=logged_at)
            if info.key in infos:
                raise RuleError("A7 key exists", f"root key {info.key} is listed twice",
                                field=where, index=index)
            infos[info.key] = info

        def effect() -> None:
            self.origin = origin
            self.log_vkey = log_vkey
            self.keys.update(infos)

        return effect

    def _key_info(
        self, data: Mapping[str, Any], where: str, index: int, *, roots: bool,
        valid_from: datetime,
    ) -> KeyInfo:
        """Read ``{"key","public_key","holder"[, "roles", "valid_from"]}`` (A2, A7)."""
        rule = "A7 key"
        kid = data.get("key")
        if type(kid) is not str or not _KEY_ID.fullmatch(kid):
            raise FormatError("A2 key id", "key must be 16 lowercase hex characters",
                              field=f"{where}.key", index=index)
        try:
            # 32 bytes is all A2 can check here: cryptography's from_public_bytes takes any
            # 32 bytes (OpenSSL does not decode the point), and a key that is not a curve
            # point simply never verifies a signature.
            raw = b64decode(data.get("public_key"), field=f"{where}.public_key", length=32)
        except FormatError as exc:
            raise _at(exc, index) from None
        if key_id(raw) != kid:
            raise FormatError("A2 key id", f"key id of this public key is {key_id(raw)}, not "
                              f"{kid}", field=f"{where}.key", index=index)
        holder = data.get("holder")
        if type(holder) is not dict or type(holder.get("name")) is not str:
            raise FormatError(rule, "holder must be {name, department, inspector}",
                              field=f"{where}.holder", index=index)
        for name in ("department", "inspector"):
            if holder.get(name) is not None and type(holder.get(name)) is not str:
                raise FormatError(rule, f"holder.{name} must be an id or null",
                                  field=f"{where}.holder.{name}", index=index)
        roles: frozenset[str] = frozenset()
        if not roots:
            raw_roles = data.get("roles")
            if type(raw_roles) is not list or not all(type(r) is str for r in raw_roles):
                raise FormatError(rule, "roles must be a list of role names",
                                  field=f"{where}.roles", index=index)
            roles = frozenset(raw_roles)
            valid_from = _time(data.get("valid_from"), f"{where}.valid_from", index)
        return KeyInfo(kid, raw, dict(holder), roles, valid_from, roots, index)

    def _key_registered(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        info = self._key_info(entry["data"], "data", index, roots=False, valid_from=logged_at)

        def effect() -> None:
            self.keys[info.key] = info

        return effect

    def _key_revoked(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        target = self.keys[entry["data"]["key"]]  # authorize checked it exists

        def effect() -> None:
            self.keys[target.key] = replace(target, revoked_at=index)

        return effect

    # -- A11 entries ---------------------------------------------------------
    def _draw_of(self, data: Mapping[str, Any], index: int) -> DrawLog:
        draw = self.draws.get(data["draw_id"])
        if draw is None:
            raise RuleError("A11 draw", f"draw {data['draw_id']!r} was not scheduled",
                            field="data.draw_id", index=index)
        return draw

    def _draw_scheduled(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        data = entry["data"]
        if data["draw_id"] in self.draws:
            raise RuleError("A11 draw", f"draw {data['draw_id']!r} is already scheduled",
                            field="data.draw_id", index=index)
        try:
            schedule = parse_schedule(data)
        except LedgerError as exc:
            raise FormatError("A11 DrawScheduled", exc.reason, field=f"data.{exc.field}",
                              index=index) from None
        draw = DrawLog(data["draw_id"], data, index, schedule.party_keys)

        def effect() -> None:
            self.draws[draw.draw_id] = draw

        return effect

    def _draw_open(self, draw: DrawLog, kind: str, index: int) -> None:
        if draw.voided or draw.performed is not None:
            state = "voided" if draw.voided else "performed"
            raise RuleError("A11 draw", f"{kind} on draw {draw.draw_id!r}, which is {state}",
                            field="data.draw_id", index=index)

    def _party(self, draw: DrawLog, data: Mapping[str, Any], index: int) -> str:
        party = data.get("party")
        if type(party) is not str or party not in draw.parties:
            raise RuleError("A11 party", f"{party!r} is not a party of draw {draw.draw_id!r}",
                            field="data.party", index=index)
        return party

    def _draw_committed(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        data = entry["data"]
        draw = self._draw_of(data, index)
        self._draw_open(draw, "DrawCommitted", index)
        party = self._party(draw, data, index)
        if draw.reveals:
            raise RuleError("A11 commit before reveal", "a commitment after the draw's first "
                            "reveal", field="data.party", index=index)
        if party in draw.commitments:
            raise RuleError("A11 commit once", f"party {party!r} has already committed",
                            field="data.party", index=index)
        commitment = data.get("commitment")
        if type(commitment) is not str or not _HEX64.fullmatch(commitment):
            raise FormatError("A11 commitment", "commitment must be 64 lowercase hex characters",
                              field="data.commitment", index=index)
        last = len(draw.commitments) + 1 == len(draw.parties)

        def effect() -> None:
            draw.commitments[party] = commitment
            if last:
                draw.commit_checkpoint = (index + 1, self._acc.root().hex())

        return effect

    def _draw_revealed(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        data = entry["data"]
        draw = self._draw_of(data, index)
        self._draw_open(draw, "DrawRevealed", index)
        party = self._party(draw, data, index)
        if len(draw.commitments) != len(draw.parties):
            waiting = ", ".join(repr(p) for p in draw.parties if p not in draw.commitments)
            raise RuleError("A11 commit before reveal", f"a reveal before every party "
                            f"committed (waiting for {waiting})", field="data.party", index=index)
        if party in draw.reveals:
            raise RuleError("A11 reveal once", f"party {party!r} has already revealed",
                            field="data.party", index=index)
        secret = data.get("secret")
        if type(secret) is not str:
            raise FormatError("A11 reveal", "secret must be 64 lowercase hex characters",
                              field="data.secret", index=index)
        try:
            check_commit_reveal(draw.commitments[party], secret)
        except LedgerError as exc:
            raise type(exc)("A11 reveal matches commitment", exc.reason, field="data.secret",
                            index=index) from None
        complete = len(draw.reveals) + 1 == len(draw.parties)

        def effect() -> None:
            draw.reveals[party] = secret
            if complete:
                self._due.append(_Due("DrawPerformed", f"draw/{draw.draw_id}", draw.draw_id))

        return effect

    def _draw_voided(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        draw = self._draw_of(entry["data"], index)
        if draw.voided:
            raise RuleError("A11 draw", f"draw {draw.draw_id!r} is already voided",
                            field="data.draw_id", index=index)

        def effect() -> None:
            draw.voided = True

        return effect

    def _draw_performed(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        data = entry["data"]
        due = self._due[0]
        if data.get("draw_id") != due.draw_id:
            raise RuleError("A11 DrawPerformed", f"DrawPerformed of draw {due.draw_id!r} is due, "
                            f"found draw {data.get('draw_id')!r}", field="data.draw_id",
                            index=index)
        draw = self.draws[due.draw_id]
        try:
            expected = draw.expected_performed(self.draw_mapper)
        except LedgerError as exc:
            raise RuleError("A11 DrawPerformed", f"the draw cannot be replayed: {exc.reason}",
                            field=exc.field, index=index) from None
        for name in PERFORMED_FIELDS:
            diff = _first_difference(expected[name], data.get(name), name)
            if diff is not None:
                raise RuleError("A11 DrawPerformed", f"differs from the replayed draw: {diff}",
                                field=f"data.{name}", index=index)
        cases = [
            _Due("CaseOpened", f"case/{draw.draw_id}:{team['enterprise']}", draw.draw_id,
                 team["enterprise"], tuple(team["inspectors"]))
            for team in expected["teams"]
        ]

        def effect() -> None:
            draw.performed = data
            draw.performed_at = index
            self._due.popleft()
            self._due.extendleft(reversed(cases))

        return effect

    # -- A12 case entries ----------------------------------------------------
    def _case_opened(self, entry: Entry, index: int, logged_at: datetime) -> Callable[[], None]:
        data = entry["data"]
        due = self._due[0]
        wanted = {"draw_id": due.draw_id, "enterprise": due.enterprise,
                  "inspectors": list(due.inspectors)}
        if entry["stream"] != due.stream:
            raise RuleError("A11 CaseOpened", f"the case of {due.enterprise!r} in draw "
                            f"{due.draw_id!r} is due on {due.stream!r}", field="stream",
                            index=index)
        for name in CASE_FIELDS:
            diff = _first_difference(wanted[name], data.get(name), name)
            if diff is not None:
                raise RuleError("A11 CaseOpened", f"differs from the draw: {diff}",
                                field=f"data.{name}", index=index)
        stream = entry["stream"]

        def effect() -> None:
            self._teams[stream] = due.inspectors
            self._case_of[stream] = (due.draw_id, due.enterprise)
            self.draws[due.draw_id].cases.append(stream)
            self._due.popleft()

        return effect

    def _inspector_recused(
        self, entry: Entry, index: int, logged_at: datetime
    ) -> Callable[[], None]:
        data = entry["data"]
        stream = entry["stream"]
        team = self._teams[stream]
        inspector = data.get("inspector")
        if inspector not in team:
            raise RuleError("A12 team", f"inspector {inspector!r} is not on the team of "
                            f"{stream}", field="data.inspector", index=index)
        if "replacement" not in data:
            raise FormatError("A11 InspectorRecused", "replacement (an inspector id or null) "
                              "is missing", field="data.replacement", index=index)
        replacement = data["replacement"]
        draw_id, enterprise = self._case_of[stream]
        draw = self.draws[draw_id]
        teams = {self._case_of[case][1]: list(self._teams[case]) for case in draw.cases}
        conflicts = [(who, what) for at, who, what in self._conflicts if at > draw.scheduled_at]
        try:
            drawn = replacement_after_recusal(
                draw.scheduled, draw.reveals, draw.performed or {}, enterprise, inspector,
                current_teams=teams, prior_recusals=self._recusals.get(stream, ()),
                extra_conflicts=conflicts,
            )
        except LedgerError as exc:
            raise RuleError("C3 recusal", exc.reason, field="data.inspector",
                            index=index) from None
        if replacement != drawn:
            raise RuleError(
                "C3 recusal", f"the replacement is drawn, never chosen: the draw gives "
                f"{drawn!r}, the entry says {replacement!r}", field="data.replacement",
                index=index,
            )
        if replacement is None:
            new_team = tuple(x for x in team if x != inspector)
        else:
            new_team = tuple(replacement if x == inspector else x for x in team)

        def effect() -> None:
            self._teams[stream] = new_team
            self._recusals[stream] = (*self._recusals.get(stream, ()), inspector)

        return effect

    def _conflict_declared(
        self, entry: Entry, index: int, logged_at: datetime
    ) -> Callable[[], None] | None:
        who, what = entry["data"].get("inspector"), entry["data"].get("enterprise")
        if type(who) is not str or type(what) is not str:
            return None  # registry content is Part C's to check

        def effect() -> None:
            self._conflicts.append((index, who, what))

        return effect


_Handler = Callable[[LogState, Entry, int, datetime], Callable[[], None] | None]
_HANDLERS: dict[str, _Handler] = {
    "LedgerGenesis": LogState._genesis,
    "KeyRegistered": LogState._key_registered,
    "KeyRevoked": LogState._key_revoked,
    "DrawScheduled": LogState._draw_scheduled,
    "DrawCommitted": LogState._draw_committed,
    "DrawRevealed": LogState._draw_revealed,
    "DrawVoided": LogState._draw_voided,
    "DrawPerformed": LogState._draw_performed,
    "CaseOpened": LogState._case_opened,
    "InspectorRecused": LogState._inspector_recused,
    "ConflictDeclared": LogState._conflict_declared,
}
