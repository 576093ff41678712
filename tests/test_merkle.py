"""Tests of ledger.merkle (DESIGN.md A5, RFC 9162 section 2.1).

Table tests over tests/vectors/merkle.json (made by Go's sumdb/tlog and an
independent RFC 9162 implementation), an exhaustive comparison with the
naive recursive definitions of RFC 9162 §2.1.1 for every size up to 100, and
Hypothesis properties for sizes up to 2000.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import merkle
from ledger.errors import ProofError, StoreError
from ledger.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemoryHashStore,
    RootAccumulator,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    root_of,
    split_stored_hash_index,
    stored_hash_count,
    stored_hash_index,
    stored_hashes,
    stored_hashes_for_batch,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "merkle.json").read_text("utf-8"))
SETS = {s["name"]: s for s in VECTORS["sets"]}


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def flip(h: bytes, bit: int) -> bytes:
    """Return ``h`` with bit ``bit`` (0 = lowest bit of byte 0) inverted."""
    out = bytearray(h)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


class CountingReader:
    """A HashReader that counts its calls and the hashes it returns."""

    def __init__(self, inner: merkle.HashReader) -> None:
        self.inner = inner
        self.calls = 0
        self.hashes_read = 0

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        self.calls += 1
        self.hashes_read += len(indexes)
        assert list(indexes) == sorted(indexes), "indexes must be asked for in increasing order"
        return self.inner.read_hashes(indexes)


_STORES: dict[str, MemoryHashStore] = {}


def store_for(set_name: str) -> MemoryHashStore:
    if set_name not in _STORES:
        leaves = SETS[set_name]["leaves_hex"]
        _STORES[set_name] = MemoryHashStore(leaf_hash(bytes.fromhex(x)) for x in leaves)
    return _STORES[set_name]


# ---------------------------------------------------------------------------
# Vectors: merkle.json


def test_empty_tree_root() -> None:
    assert b64(VECTORS["empty_tree_root"]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert EMPTY_ROOT.hex() == VECTORS["empty_tree_root_hex"]
    assert root_of([]) == EMPTY_ROOT
    assert RootAccumulator().root() == EMPTY_ROOT
    assert MemoryHashStore().root() == EMPTY_ROOT
    counting = CountingReader(MemoryHashStore())
    assert tree_hash(0, counting) == EMPTY_ROOT
    assert counting.calls == 0


def test_rfc6962_root_of_eight_leaves() -> None:
    expected = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    assert store_for("rfc6962").root().hex() == expected


@pytest.mark.parametrize("vset", VECTORS["sets"], ids=lambda s: s["name"])
def test_vector_leaf_hashes(vset: dict) -> None:
    got = [leaf_hash(bytes.fromhex(x)) for x in vset["leaves_hex"]]
    assert got == [b64(h) for h in vset["leaf_hashes"]]


@pytest.mark.parametrize("vset", VECTORS["sets"], ids=lambda s: s["name"])
def test_vector_prefix_roots(vset: dict) -> None:
    store = store_for(vset["name"])
    leaves = [b64(h) for h in vset["leaf_hashes"]]
    assert [r["size"] for r in vset["roots"]] == list(range(1, len(leaves) + 1))
    acc = RootAccumulator()
    for r in vset["roots"]:
        size, root = r["size"], b64(r["root"])
        acc.add(leaves[size - 1])
        assert acc.size == size
        assert acc.root() == root
        assert root_of(leaves[:size]) == root
        assert tree_hash(size, store) == root
    assert store.root() == b64(vset["roots"][-1]["root"])


INCLUSION = [(s["name"], c) for s in VECTORS["sets"] for c in s["inclusion"]]
CONSISTENCY = [(s["name"], c) for s in VECTORS["sets"] for c in s["consistency"]]
INVALID = [(s["name"], c) for s in VECTORS["sets"] for c in s["invalid_proofs"]]


@pytest.mark.parametrize(
    ("set_name", "case"), INCLUSION, ids=[f"{n}-{c['index']}-of-{c['size']}" for n, c in INCLUSION]
)
def test_vector_inclusion(set_name: str, case: dict) -> None:
    store = store_for(set_name)
    index, size = case["index"], case["size"]
    leaf, root = b64(case["leaf_hash"]), b64(case["root"])
    expected = [b64(h) for h in case["proof"]]

    counting = CountingReader(store)
    proof = inclusion_proof(index, size, counting)
    assert len(proof) == len(expected)
    for k, (got, want) in enumerate(zip(proof, expected, strict=True)):
        assert got == want, f"proof hash {k}"
    assert counting.calls <= 1

    assert tree_hash(size, store) == root
    verify_inclusion(index, size, leaf, expected, root)
    assert root_from_inclusion(index, size, leaf, expected) == root


@pytest.mark.parametrize(
    ("set_name", "case"),
    CONSISTENCY,
    ids=[f"{n}-{c['from']}-to-{c['to']}" for n, c in CONSISTENCY],
)
def test_vector_consistency(set_name: str, case: dict) -> None:
    store = store_for(set_name)
    old_size, new_size = case["from"], case["to"]
    old_root, new_root = b64(case["old_root"]), b64(case["new_root"])
    expected = [b64(h) for h in case["proof"]]

    counting = CountingReader(store)
    proof = consistency_proof(old_size, new_size, counting)
    assert len(proof) == len(expected)
    for k, (got, want) in enumerate(zip(proof, expected, strict=True)):
        assert got == want, f"proof hash {k}"
    assert counting.calls <= 1

    assert tree_hash(old_size, store) == old_root
    assert tree_hash(new_size, store) == new_root
    verify_consistency(old_size, new_size, old_root, new_root, expected)


@pytest.mark.parametrize(
    ("set_name", "case"),
    INVALID,
    ids=[f"{n}-{c['kind']}-{c['description']}" for n, c in INVALID],
)
def test_vector_invalid_proof_rejected(set_name: str, case: dict) -> None:
    proof = [b64(h) for h in case["proof"]]
    with pytest.raises(ProofError) as info:
        if case["kind"] == "inclusion":
            verify_inclusion(
                case["index"], case["size"], b64(case["leaf_hash"]), proof, b64(case["root"])
            )
        else:
            assert case["kind"] == "consistency"
            verify_consistency(
                case["from"], case["to"], b64(case["old_root"]), b64(case["new_root"]), proof
            )
    assert info.value.rule.startswith("A5 ")


def test_wrong_length_proof_says_expected_and_found() -> None:
    store = store_for("rfc6962")
    proof = inclusion_proof(2, 7, store)
    leaf = leaf_hash(bytes.fromhex(SETS["rfc6962"]["leaves_hex"][2]))
    root = tree_hash(7, store)
    with pytest.raises(ProofError, match="proof has 2 hashes, expected 3"):
        verify_inclusion(2, 7, leaf, proof[:2], root)
    with pytest.raises(ProofError, match="proof has 4 hashes, expected 3"):
        verify_inclusion(2, 7, leaf, [*proof, proof[0]], root)
    cproof = consistency_proof(3, 7, store)
    with pytest.raises(ProofError, match=r"proof has 1 hash, expected 0 \[A5 consistency\]"):
        verify_consistency(7, 7, root, root, cproof[:1])


# ---------------------------------------------------------------------------
# Exhaustive small trees against the naive RFC 9162 §2.1.1 definitions.

N_SMALL = 100
SMALL_LEAVES = [f"leaf {i}".encode() for i in range(N_SMALL)]


class NaiveTree:
    """MTH, PATH and PROOF exactly as RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 define them."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = leaves
        self._mth: dict[tuple[int, int], bytes] = {}

    @staticmethod
    def split(n: int) -> int:
        k = 1
        while k * 2 < n:
            k *= 2
        return k

    def mth(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi])."""
        if (lo, hi) not in self._mth:
            n = hi - lo
            if n == 0:
                h = hashlib.sha256(b"").digest()
            elif n == 1:
                h = hashlib.sha256(b"\x00" + self.leaves[lo]).digest()
            else:
                k = self.split(n)
                left, right = self.mth(lo, lo + k), self.mth(lo + k, hi)
                h = hashlib.sha256(b"\x01" + left + right).digest()
            self._mth[(lo, hi)] = h
        return self._mth[(lo, hi)]

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        """PATH(m, D[lo:hi])."""
        n = hi - lo
        if n == 1:
            return []
        k = self.split(n)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        """SUBPROOF(m, D[lo:hi], b)."""
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = self.split(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        """PROOF(m, D[n])."""
        return self.subproof(m, 0, n, True)


NAIVE = NaiveTree(SMALL_LEAVES)
SMALL_STORE = MemoryHashStore(leaf_hash(d) for d in SMALL_LEAVES)


@pytest.mark.parametrize("size", range(1, N_SMALL + 1))
def test_exhaustive_small_tree(size: int) -> None:
    root = NAIVE.mth(0, size)
    assert tree_hash(size, SMALL_STORE) == root
    assert root_of([leaf_hash(d) for d in SMALL_LEAVES[:size]]) == root

    for index in range(size):
        leaf = leaf_hash(SMALL_LEAVES[index])
        counting = CountingReader(SMALL_STORE)
        proof = inclusion_proof(index, size, counting)
        assert counting.calls <= 1
        assert proof == NAIVE.path(index, 0, size)
        verify_inclusion(index, size, leaf, proof, root)
        for k in range(len(proof)):
            for bit in (0, 255):
                bad = [*proof[:k], flip(proof[k], bit), *proof[k + 1 :]]
                with pytest.raises(ProofError):
                    verify_inclusion(index, size, leaf, bad, root)
        # The same path does not prove another leaf position.
        for other in {index - 1, index + 1} & set(range(size)):
            with pytest.raises(ProofError):
                verify_inclusion(other, size, leaf, proof, root)

    for old_size in range(1, size + 1):
        old_root = NAIVE.mth(0, old_size)
        counting = CountingReader(SMALL_STORE)
        proof = consistency_proof(old_size, size, counting)
        assert counting.calls <= 1
        assert proof == NAIVE.proof(old_size, size)
        verify_consistency(old_size, size, old_root, root, proof)
        for k in range(len(proof)):
            for bit in (0, 255):
                bad = [*proof[:k], flip(proof[k], bit), *proof[k + 1 :]]
                with pytest.raises(ProofError):
                    verify_consistency(old_size, size, old_root, root, bad)
        with pytest.raises(ProofError):
            verify_consistency(old_size, size, old_root, root, [*proof, root])
        if proof:
            with pytest.raises(ProofError):
                verify_consistency(old_size, size, old_root, root, proof[:-1])


def test_consistency_of_equal_sizes_is_empty() -> None:
    for size in range(1, 20):
        assert consistency_proof(size, size, SMALL_STORE) == []
        root = tree_hash(size, SMALL_STORE)
        verify_consistency(size, size, root, root, [])
        with pytest.raises(ProofError, match="different roots"):
            verify_consistency(size, size, root, flip(root, 3), [])


# ---------------------------------------------------------------------------
# Bad arguments.


@pytest.mark.parametrize(
    ("index", "size"), [(5, 5), (6, 5), (-1, 5), (0, 0), (0, -1)], ids=lambda v: str(v)
)
def test_inclusion_bad_arguments(index: int, size: int) -> None:
    with pytest.raises(ProofError):
        inclusion_proof(index, size, SMALL_STORE)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, EMPTY_ROOT, [], EMPTY_ROOT)
    with pytest.raises(ProofError):
        root_from_inclusion(index, size, EMPTY_ROOT, [])


@pytest.mark.parametrize(
    ("old_size", "new_size"), [(0, 5), (6, 5), (-1, 5), (0, 0), (1, -1)], ids=lambda v: str(v)
)
def test_consistency_bad_arguments(old_size: int, new_size: int) -> None:
    with pytest.raises(ProofError):
        consistency_proof(old_size, new_size, SMALL_STORE)
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, EMPTY_ROOT, EMPTY_ROOT, [])


def test_bad_hash_lengths_are_proof_errors() -> None:
    root = tree_hash(5, SMALL_STORE)
    leaf = leaf_hash(SMALL_LEAVES[1])
    proof = inclusion_proof(1, 5, SMALL_STORE)
    with pytest.raises(ProofError, match="leaf hash must be 32 bytes, found 31"):
        verify_inclusion(1, 5, leaf[:31], proof, root)
    with pytest.raises(ProofError, match="root must be 32 bytes, found 33"):
        verify_inclusion(1, 5, leaf, proof, root + b"\x00")
    with pytest.raises(ProofError, match="proof hash 1 must be 32 bytes"):
        verify_inclusion(1, 5, leaf, [proof[0], proof[1][:-1], proof[2]], root)
    with pytest.raises(ProofError):
        verify_consistency(2, 5, root[:16], root, consistency_proof(2, 5, SMALL_STORE))
    with pytest.raises(ProofError):
        RootAccumulator().add(b"short")
    with pytest.raises(ProofError):
        MemoryHashStore().append(b"\x00" * 33)
    with pytest.raises(ProofError):
        stored_hashes_for_batch(0, [b"\x00" * 31], MemoryHashStore())
    with pytest.raises(ProofError):
        stored_hashes(-1, EMPTY_ROOT, MemoryHashStore())


def test_tree_larger_than_store_is_refused() -> None:
    store = MemoryHashStore(leaf_hash(d) for d in SMALL_LEAVES[:10])
    with pytest.raises(ProofError):
        tree_hash(11, store)
    with pytest.raises(ProofError):
        inclusion_proof(3, 11, store)
    with pytest.raises(ProofError):
        consistency_proof(3, 11, store)


def test_reader_returning_wrong_count_is_a_store_error() -> None:
    class Short:
        def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
            return [EMPTY_ROOT] * (len(indexes) - 1)

    with pytest.raises(StoreError, match="returned 1 hashes for 2 indexes"):
        tree_hash(3, Short())


# ---------------------------------------------------------------------------
# Stored hash layout and appends.


def _go_stored_hash_index(level: int, n: int) -> int:
    # tlog.StoredHashIndex, line for line.
    for _ in range(level):
        n = 2 * n + 1
    i = 0
    while n > 0:
        i += n
        n >>= 1
    return i + level


def _go_stored_hash_count(n: int) -> int:
    # tlog.StoredHashCount, line for line.
    if n == 0:
        return 0
    num = _go_stored_hash_index(0, n - 1) + 1
    i = n - 1
    while i & 1:
        num += 1
        i >>= 1
    return num


def test_stored_hash_index_matches_tlog_and_round_trips() -> None:
    for level in range(12):
        for n in range(300):
            index = stored_hash_index(level, n)
            assert index == _go_stored_hash_index(level, n)
            assert split_stored_hash_index(index) == (level, n)
    for index in range(5000):
        level, n = split_stored_hash_index(index)
        assert stored_hash_index(level, n) == index
    for n in range(2000):
        assert stored_hash_count(n) == _go_stored_hash_count(n)
    big = 2**40 + 12345
    assert split_stored_hash_index(stored_hash_index(7, big)) == (7, big)


def test_stored_hash_layout_bad_arguments() -> None:
    for call in (
        lambda: stored_hash_index(-1, 0),
        lambda: stored_hash_index(0, -1),
        lambda: split_stored_hash_index(-1),
        lambda: stored_hash_count(-1),
    ):
        with pytest.raises(ProofError):
            call()


def test_store_layout_is_the_tlog_layout() -> None:
    for n in range(1, N_SMALL + 1):
        assert len(SMALL_STORE.read_hashes(range(stored_hash_count(n)))) == stored_hash_count(n)
    # Each stored hash is the root of the complete subtree that (level, n) names.
    for index in range(stored_hash_count(N_SMALL)):
        level, n = split_stored_hash_index(index)
        lo, hi = n << level, (n + 1) << level
        assert SMALL_STORE.read_hashes([index]) == [NAIVE.mth(lo, hi)]


def test_stored_hashes_one_leaf_at_a_time() -> None:
    hashes: list[bytes] = []

    class ListReader:
        def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
            return [hashes[i] for i in indexes]

    for n, data in enumerate(SMALL_LEAVES):
        counting = CountingReader(ListReader())
        new = stored_hashes(n, leaf_hash(data), counting)
        assert counting.calls <= 1
        assert len(new) == 1 + ((n + 1) & -(n + 1)).bit_length() - 1
        assert len(hashes) == stored_hash_index(0, n)
        hashes.extend(new)
    assert len(hashes) == stored_hash_count(N_SMALL)
    assert SMALL_STORE.read_hashes(range(len(hashes))) == hashes


@pytest.mark.parametrize("old_size", [0, 1, 2, 3, 7, 8, 31, 63, 64, 65, 99, 100, 127, 255, 1000])
def test_stored_hashes_for_batch_equals_leaf_by_leaf(old_size: int) -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(old_size + 130)]
    base = MemoryHashStore(leaves[:old_size])
    for batch in (0, 1, 2, 5, 100, 130):
        new_leaves = leaves[old_size : old_size + batch]
        # Leaf by leaf through stored_hashes.
        one_by_one = MemoryHashStore(leaves[:old_size])
        expected: list[bytes] = []
        for i, h in enumerate(new_leaves):
            part = stored_hashes(old_size + i, h, one_by_one)
            expected.extend(part)
            one_by_one.append(h)
        # As one batch, with one read at most.
        counting = CountingReader(base)
        got = stored_hashes_for_batch(old_size, new_leaves, counting)
        assert got == expected
        assert counting.calls <= 1
        assert counting.hashes_read == (old_size.bit_count() if batch else 0)
        assert len(got) == stored_hash_count(old_size + batch) - stored_hash_count(old_size)
        stored = base.read_hashes(range(stored_hash_count(old_size)))
        assert [*stored, *got] == one_by_one.read_hashes(range(stored_hash_count(old_size + batch)))


def test_batch_of_100_appends_onto_a_large_tree_reads_once() -> None:
    store = MemoryHashStore(leaf_hash(i.to_bytes(4, "big")) for i in range(5000))
    new = [leaf_hash(b"new %d" % i) for i in range(100)]
    counting = CountingReader(store)
    hashes = stored_hashes_for_batch(store.size, new, counting)
    assert counting.calls == 1
    assert counting.hashes_read == (5000).bit_count()
    store.append_many(new)
    assert store.size == 5100
    assert store.read_hashes(range(stored_hash_count(5000), stored_hash_count(5100))) == hashes
    acc = RootAccumulator()
    for i in range(5000):
        acc.add(leaf_hash(i.to_bytes(4, "big")))
    for h in new:
        acc.add(h)
    assert store.root() == acc.root()


def test_reads_per_tree_hash_and_proof_are_one_and_logarithmic() -> None:
    store = MemoryHashStore(leaf_hash(i.to_bytes(4, "big")) for i in range(3000))
    for size in (1, 2, 3, 100, 1023, 1024, 1025, 2999, 3000):
        bound = 2 * size.bit_length() + 2
        counting = CountingReader(store)
        tree_hash(size, counting)
        assert counting.calls == 1 and counting.hashes_read <= bound
        for index in (0, size // 3, size - 1):
            counting = CountingReader(store)
            inclusion_proof(index, size, counting)
            assert counting.calls <= 1 and counting.hashes_read <= bound
        for old_size in (1, size // 2 or 1, size - 1 or 1, size):
            counting = CountingReader(store)
            consistency_proof(old_size, size, counting)
            assert counting.calls <= 1 and counting.hashes_read <= bound


def test_root_accumulator_and_memory_store_equal_root_of() -> None:
    leaves = [leaf_hash(i.to_bytes(4, "big")) for i in range(300)]
    acc = RootAccumulator()
    store = MemoryHashStore()
    assert acc.size == store.size == 0
    for n, h in enumerate(leaves, start=1):
        acc.add(h)
        store.append(h)
        assert acc.size == store.size == n
        expected = root_of(leaves[:n])
        assert acc.root() == store.root() == expected == NaiveRoot.of(leaves[:n])
    # The accumulator keeps one hash per set bit of the size.
    assert len(acc._stack) == (300).bit_count()


class NaiveRoot:
    @staticmethod
    def of(leaf_hashes: Sequence[bytes]) -> bytes:
        n = len(leaf_hashes)
        if n == 0:
            return EMPTY_ROOT
        if n == 1:
            return leaf_hashes[0]
        k = NaiveTree.split(n)
        return node_hash(NaiveRoot.of(leaf_hashes[:k]), NaiveRoot.of(leaf_hashes[k:]))


def test_hash_functions() -> None:
    assert HASH_SIZE == 32
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    left, right = leaf_hash(b"l"), leaf_hash(b"r")
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


# ---------------------------------------------------------------------------
# Properties for larger trees.

N_LARGE = 2000
LARGE_LEAVES = [leaf_hash(b"entry %d" % i) for i in range(N_LARGE)]
LARGE_STORE = MemoryHashStore(LARGE_LEAVES)


@st.composite
def inclusion_case(draw: st.DrawFn) -> tuple[int, int, int]:
    size = draw(st.integers(1, N_LARGE))
    index = draw(st.integers(0, size - 1))
    target = draw(st.integers(0, 64))
    return size, index, target


@settings(max_examples=60, deadline=None, database=None)
@given(inclusion_case(), st.integers(0, 8 * HASH_SIZE - 1))
def test_property_inclusion(case: tuple[int, int, int], bit: int) -> None:
    size, index, target = case
    root = root_of(LARGE_LEAVES[:size])
    assert tree_hash(size, LARGE_STORE) == root
    leaf = LARGE_LEAVES[index]
    counting = CountingReader(LARGE_STORE)
    proof = inclusion_proof(index, size, counting)
    assert counting.calls <= 1
    verify_inclusion(index, size, leaf, proof, root)

    # One flipped bit in a proof hash, the root or the leaf must fail.
    choices = len(proof) + 2
    which = target % choices
    bad_proof, bad_root, bad_leaf = list(proof), root, leaf
    if which < len(proof):
        bad_proof[which] = flip(proof[which], bit)
    elif which == len(proof):
        bad_root = flip(root, bit)
    else:
        bad_leaf = flip(leaf, bit)
    with pytest.raises(ProofError):
        verify_inclusion(index, size, bad_leaf, bad_proof, bad_root)


@pytest.mark.parametrize("size", range(1, N_SMALL + 1))
def test_batch_proofs_equal_the_naive_path(size: int) -> None:
    counting = CountingReader(SMALL_STORE)
    proofs = inclusion_proofs(range(size), size, counting)
    assert counting.calls <= 1
    assert proofs == [NAIVE.path(index, 0, size) for index in range(size)]


@settings(max_examples=60, deadline=None, database=None)
@given(st.integers(1, N_LARGE).flatmap(
    lambda size: st.tuples(st.just(size), st.lists(st.integers(0, size - 1), max_size=120))
))
def test_property_batch_proofs_equal_single_proofs(case: tuple[int, list[int]]) -> None:
    size, indexes = case
    counting = CountingReader(LARGE_STORE)
    proofs = inclusion_proofs(indexes, size, counting)
    assert counting.calls <= 1
    assert proofs == [inclusion_proof(i, size, LARGE_STORE) for i in indexes]


def test_batch_proofs_bad_arguments() -> None:
    assert inclusion_proofs([], 5, SMALL_STORE) == []
    for indexes, size in (([0, 5], 5), ([-1], 5), ([0], -1), ([True], 5)):
        with pytest.raises(ProofError):
            inclusion_proofs(indexes, size, SMALL_STORE)


@st.composite
def consistency_case(draw: st.DrawFn) -> tuple[int, int, int]:
    new_size = draw(st.integers(1, N_LARGE))
    old_size = draw(st.integers(1, new_size))
    target = draw(st.integers(0, 64))
    return old_size, new_size, target


@settings(max_examples=60, deadline=None, database=None)
@given(consistency_case(), st.integers(0, 8 * HASH_SIZE - 1))
def test_property_consistency(case: tuple[int, int, int], bit: int) -> None:
    old_size, new_size, target = case
    old_root = root_of(LARGE_LEAVES[:old_size])
    new_root = root_of(LARGE_LEAVES[:new_size])
    counting = CountingReader(LARGE_STORE)
    proof = consistency_proof(old_size, new_size, counting)
    assert counting.calls <= 1
    verify_consistency(old_size, new_size, old_root, new_root, proof)

    choices = len(proof) + 2
    which = target % choices
    bad_proof, bad_old, bad_new = list(proof), old_root, new_root
    if which < len(proof):
        bad_proof[which] = flip(proof[which], bit)
    elif which == len(proof):
        bad_old = flip(old_root, bit)
    else:
        bad_new = flip(new_root, bit)
    with pytest.raises(ProofError):
        verify_consistency(old_size, new_size, bad_old, bad_new, bad_proof)


@settings(max_examples=30, deadline=None, database=None)
@given(st.integers(0, 300), st.integers(0, 300))
def test_property_batches(old_size: int, batch: int) -> None:
    leaves = LARGE_LEAVES[: old_size + batch]
    base = MemoryHashStore(leaves[:old_size])
    counting = CountingReader(base)
    new = stored_hashes_for_batch(old_size, leaves[old_size:], counting)
    assert counting.calls <= 1
    assert new == LARGE_STORE.read_hashes(
        range(stored_hash_count(old_size), stored_hash_count(old_size + batch))
    )


@pytest.mark.parametrize("size", range(0, N_SMALL + 1))
def test_stored_roots_are_what_a_batch_reads(size: int) -> None:
    acc = RootAccumulator()
    for leaf in SMALL_LEAVES[:size]:
        acc.add(leaf_hash(leaf))
    roots = acc.stored_roots()
    # Exactly the stored hashes at those indexes ...
    assert roots == dict(zip(roots, SMALL_STORE.read_hashes(sorted(roots)), strict=True))
    # ... and enough to extend the tree and prove every new leaf: Known reads nothing else.
    new = [leaf_hash(b"new %d" % i) for i in range(5)]
    fresh = dict(roots)

    class Known:
        def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
            return [fresh[i] for i in indexes]

    hashes = stored_hashes_for_batch(size, new, Known())
    fresh.update(zip(range(stored_hash_count(size), stored_hash_count(size + 5)), hashes,
                     strict=True))
    grown = MemoryHashStore([*(leaf_hash(d) for d in SMALL_LEAVES[:size]), *new])
    proofs = inclusion_proofs(range(size, size + 5), size + 5, Known())
    assert proofs == [inclusion_proof(i, size + 5, grown) for i in range(size, size + 5)]
