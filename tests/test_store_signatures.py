"""The store's libsodium signature check gives OpenSSL's verdict (ledger/store/signatures.py).

The verify tool and ``LogState`` verify with ``cryptography`` (OpenSSL); the
store's workers ask libsodium first and OpenSSL for every refusal.  The
answers must be the same in every case, including the ones where the two
libraries differ (a small-order public key, which OpenSSL accepts and
libsodium refuses).
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import sigcheck
from ledger.store import signatures
from tests.store_helpers import ADMIN, cmd, key, register_args

IDENTITY = bytes([1]) + bytes(31)  # the neutral point: a key of small order


def _command(name: str) -> dict[str, Any]:
    return cmd(ADMIN, "keys.register", register_args(key(name), ["planner"]))


def _both(jobs: list[sigcheck.Job]) -> tuple[list[bool | None], list[bool | None]]:
    return signatures.check_signatures(jobs), sigcheck.check_signatures(jobs)


def test_valid_forged_and_unreadable_commands() -> None:
    good = _command("ss-a")
    forged = copy.deepcopy(good)
    forged["args"]["holder"]["name"] = "someone else"
    unreadable = dict(good, args={"x": 1.5})
    jobs = [(ADMIN.public_key, good), (ADMIN.public_key, forged), (ADMIN.public_key, unreadable),
            (key("other").public_key, good)]
    fast, openssl = _both(jobs)
    assert fast == openssl == [True, False, None, False]


def test_a_small_order_key_gets_openssls_answer() -> None:
    # R = the neutral point, S = 0: OpenSSL's equation holds for every message; libsodium
    # refuses small-order keys.  The store must answer as the verify tool does.
    command = dict(_command("ss-b"), sig=base64.b64encode(IDENTITY + bytes(32)).decode())
    fast, openssl = _both([(IDENTITY, command)])
    assert fast == openssl == [True]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_flipped_bit_gets_the_same_verdict(data: st.DataObject) -> None:
    command = _command("ss-c")
    signature = bytearray(base64.b64decode(command["sig"]))
    public = bytearray(ADMIN.public_key)
    target = data.draw(st.sampled_from(["sig", "key", "nonce"]))
    if target == "sig":
        bit = data.draw(st.integers(0, 511))
        signature[bit // 8] ^= 1 << (bit % 8)
        command["sig"] = base64.b64encode(bytes(signature)).decode()
    elif target == "key":
        bit = data.draw(st.integers(0, 255))
        public[bit // 8] ^= 1 << (bit % 8)
    else:
        command["nonce"] = base64.b64encode(data.draw(st.binary(min_size=16, max_size=16))).decode()
    fast, openssl = _both([(bytes(public), command)])
    assert fast == openssl


@settings(max_examples=100, deadline=None)
@given(public=st.binary(min_size=32, max_size=32), raw=st.binary(min_size=64, max_size=64))
def test_random_keys_and_signatures_get_the_same_verdict(public: bytes, raw: bytes) -> None:
    command = dict(_command("ss-d"), sig=base64.b64encode(raw).decode())
    fast, openssl = _both([(public, command)])
    assert fast == openssl
