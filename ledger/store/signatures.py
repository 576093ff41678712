"""The store's signature checks with libsodium: OpenSSL's verdict at twice its speed (A3).

The write path verifies one Ed25519 signature per command, and on the
store's worker processes (ledger/sigcheck.py) that verification is most of
a batch's CPU.  libsodium (PyNaCl, the same maintainers as ``cryptography``)
verifies about twice as fast here as OpenSSL through ``cryptography``
(docs/PERFORMANCE.md), so the store's workers use it.

The verdict must stay ``cryptography``'s, the one the verify tool and
``LogState`` give (tools/verify runs on the base install).  Both libraries
check the same RFC 8032 equation without the cofactor, ``encode([S]B -
[k]A) == R`` with ``S < L``; libsodium refuses more on top (small-order
``R`` or ``A``, a non-canonical ``A``).  So an acceptance by libsodium is an
acceptance by OpenSSL, and every refusal is handed to OpenSSL for its own
answer: the result is OpenSSL's in every case, and the fallback costs
nothing on the valid commands that make up a busy log.
(``tests/test_store_signatures.py`` compares the two on random, mutated
and small-order cases.)

Server-side only: this module needs PyNaCl (the ``server`` extra); the
verify path does not import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from ledger.sigcheck import Job, signed_parts
from ledger.sigcheck import check_signatures as check_with_openssl
from ledger.store.encoding import canonical_fast


def _canonical(value: Any) -> bytes:
    return canonical_fast(value)[0]


def check_signatures(jobs: Sequence[Job]) -> list[bool | None]:
    """:func:`ledger.sigcheck.check_signatures`, with libsodium answering the valid ones.

    True or False per command; None when the command cannot be read.
    """
    out: list[bool | None] = []
    for public, command in jobs:
        parts = signed_parts(command, _canonical)
        if parts is None:
            out.append(None)
            continue
        message, signature = parts
        try:
            crypto_sign_open(signature + message, public)
            out.append(True)
        except (CryptoError, TypeError, ValueError):
            # libsodium refused: OpenSSL may still accept (e.g. a small-order key).
            out.append(check_with_openssl([(public, command)])[0])
    return out
