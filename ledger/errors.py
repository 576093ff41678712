"""One error tree for the whole ledger (STYLE.md §5, DESIGN.md B5).

Every error names the rule it enforces and, where there is one, the field and
the entry index, so that ``str(err)`` is one readable line.  The API maps the
``status`` to an HTTP status code and the CLI maps any ``LedgerError`` to exit
code 2 (bad input) or 1 (verification failed); nothing below prints or exits.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    status: int = 400
    title: str = "ledger error"

    def __init__(
        self,
        rule: str,
        reason: str,
        *,
        field: str | None = None,
        index: int | None = None,
    ) -> None:
        self.rule = rule
        self.reason = reason
        self.field = field
        self.index = index
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.index is not None:
            parts.append(f"entry {self.index}")
        if self.field is not None:
            parts.append(f"field {self.field!r}")
        where = (", ".join(parts) + ": ") if parts else ""
        return f"{where}{self.reason} [{self.rule}]"

    def to_problem(self) -> dict[str, object]:
        """RFC 9457 problem members (without ``type``/``instance``)."""
        body: dict[str, object] = {
            "title": self.title,
            "status": self.status,
            "detail": str(self),
            "rule": self.rule,
        }
        if self.field is not None:
            body["field"] = self.field
        if self.index is not None:
            body["index"] = self.index
        return body


class FormatError(LedgerError):
    """Bytes or fields that break the format of DESIGN.md Part A."""

    status = 422
    title = "malformed input"


class SignatureError(LedgerError):
    """A signature (command or note) does not verify."""

    status = 403
    title = "invalid signature"


class ProofError(LedgerError):
    """An inclusion or consistency proof does not verify."""

    status = 400
    title = "invalid proof"


class AuthorityError(LedgerError):
    """The signer may not do this: unknown/revoked key, wrong role (A3, A7, A12)."""

    status = 403
    title = "not authorised"


class RuleError(LedgerError):
    """A domain rule of DESIGN.md Part C refuses the command."""

    status = 422
    title = "rule violated"


class ConflictError(LedgerError):
    """Duplicate nonce, stale stream position, idempotency replay (B5): HTTP 409."""

    status = 409
    title = "conflict"


class NotFoundError(LedgerError):
    """A named thing (case, draw, report, key) does not exist."""

    status = 404
    title = "not found"


class StoreError(LedgerError):
    """The store cannot be reached or written (disk full, read-only, down)."""

    status = 503
    title = "store unavailable"
