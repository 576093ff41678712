"""The Merkle tree of the ledger (DESIGN.md A5, RFC 9162 section 2.1).

Leaf hash = SHA-256(0x00 || entry bytes), interior node = SHA-256(0x01 || left
|| right), and the tree over n leaves splits at the largest power of two
smaller than n.  The empty tree's root is SHA-256 of the empty string.

Storage follows Go's ``golang.org/x/mod/sumdb/tlog``: every node of every
complete subtree gets a dense "stored hash index" (Crosby and Wallach,
"Efficient Data Structures for Tamper-Evident Logging", section 3.3), and the
code reads the nodes it needs through the one-method :class:`HashReader`, one
call per tree hash or proof.  Proofs list their hashes leaf side first, exactly
as RFC 9162 sections 2.1.3 and 2.1.4 define them.

Bad input raises :class:`~ledger.errors.ProofError`; a reader that breaks its
contract raises :class:`~ledger.errors.StoreError`; a state that cannot happen
raises ``AssertionError`` ("bad math").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from ledger.errors import ProofError, StoreError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "HashReader",
    "MemoryHashStore",
    "RootAccumulator",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "root_from_inclusion",
    "root_of",
    "split_stored_hash_index",
    "stored_hash_count",
    "stored_hash_index",
    "stored_hashes",
    "stored_hashes_for_batch",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size of every hash in the tree, in bytes (SHA-256)."""

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""Root of the tree with no leaves: SHA-256 of the empty string (A5, RFC 9162 §2.1.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """Return the leaf hash SHA-256(0x00 || data) of one entry (A5, RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the interior node hash SHA-256(0x01 || left || right) (A5, RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return MTH over the given leaf hashes (A5, RFC 9162 §2.1.1).

    The empty list gives :data:`EMPTY_ROOT`.  Raises ``ProofError`` if a leaf
    hash is not 32 bytes.
    """
    acc = RootAccumulator()
    for h in leaf_hashes:
        acc.add(h)
    return acc.root()


# ---------------------------------------------------------------------------
# Input checks shared by the functions below.


def _check_count(rule: str, what: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ProofError(rule, f"{what} must be an integer, found {type(value).__name__}")
    if value < 0:
        raise ProofError(rule, f"{what} must not be negative, found {value}")


def _check_hash(rule: str, what: str, value: bytes) -> None:
    if not isinstance(value, bytes | bytearray):
        raise ProofError(rule, f"{what} must be bytes, found {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise ProofError(rule, f"{what} must be {HASH_SIZE} bytes, found {len(value)}")


def _check_proof(rule: str, proof: Sequence[bytes], expected: int) -> None:
    if len(proof) != expected:
        found = "1 hash" if len(proof) == 1 else f"{len(proof)} hashes"
        raise ProofError(rule, f"proof has {found}, expected {expected}")
    for i, h in enumerate(proof):
        _check_hash(rule, f"proof hash {i}", h)


def _maxpow2(n: int) -> tuple[int, int]:
    """Return (k, log2 k) for k the largest power of two smaller than n (1 for n <= 2)."""
    level = max((n - 1).bit_length() - 1, 0)
    return 1 << level, level


# ---------------------------------------------------------------------------
# Stored hash layout (tlog's StoredHashIndex).


def stored_hash_index(level: int, n: int) -> int:
    """Return the dense storage index of the n-th hash at ``level`` (tlog layout, A5).

    Level 0 holds the leaf hashes; the n-th hash at level L is the root of the
    complete subtree over leaves [n * 2^L, (n + 1) * 2^L).  Level L's n-th hash
    is stored right after level L+1's (2n+1)-th hash, so a log stores its
    hashes append-only.  Raises ``ProofError`` for negative arguments.
    """
    _check_count("A5 stored hash index", "level", level)
    _check_count("A5 stored hash index", "n", n)
    # Work down to the level-0 ordering: level L's n-th hash follows level 0's
    # hash number (n << L) + (2^L - 1).
    n = ((n + 1) << level) - 1
    # Level 0's n-th hash sits at n + n/2 + n/4 + ... = 2n - popcount(n).
    return 2 * n - n.bit_count() + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """Return (level, n) such that ``stored_hash_index(level, n) == index`` (A5).

    The inverse of :func:`stored_hash_index`.  Raises ``ProofError`` for a
    negative index.
    """
    _check_count("A5 stored hash index", "index", index)
    # stored_hash_index(0, n) < 2n, so the leaf we want is in
    # [index/2, index/2 + log2(index)].
    n = index // 2
    index_n = stored_hash_index(0, n)
    if index_n > index:
        raise AssertionError("bad math in split_stored_hash_index")
    while True:
        # Leaf n adds 1 + trailing_zeros(n + 1) hashes.
        x = index_n + 1 + _trailing_zeros(n + 1)
        if x > index:
            break
        n += 1
        index_n = x
    # The hash was stored with leaf n: it is one of (0, n), (1, n/2), (2, n/4) ...
    level = index - index_n
    return level, n >> level


def stored_hash_count(n: int) -> int:
    """Return how many hashes a tree of n leaves stores (A5, tlog ``StoredHashCount``).

    This is also the stored index at which leaf n's hashes begin.  Raises
    ``ProofError`` for negative n.
    """
    _check_count("A5 stored hash count", "size", n)
    # Hashes up to and including leaf n-1, plus the subtrees leaf n-1 completes,
    # is exactly where leaf n's hash will go.
    return stored_hash_index(0, n)


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


class HashReader(Protocol):
    """Storage of the stored hashes, read in one call per request (STYLE.md point 4)."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the hashes at the given stored hash indexes, in the same order.

        The merkle code always asks for the indexes in increasing order.
        """
        ...


def _read(reader: HashReader, indexes: Sequence[int]) -> list[bytes]:
    """Read ``indexes`` in one call and check the reader kept its contract."""
    if not indexes:
        return []
    hashes = reader.read_hashes(indexes)
    if len(hashes) != len(indexes):
        raise StoreError(
            "A5 read_hashes",
            f"read_hashes returned {len(hashes)} hashes for {len(indexes)} indexes",
        )
    out: list[bytes] = []
    for i, h in zip(indexes, hashes, strict=True):
        if not isinstance(h, bytes | bytearray | memoryview) or len(h) != HASH_SIZE:
            raise StoreError("A5 read_hashes", f"stored hash {i} is not {HASH_SIZE} bytes")
        out.append(bytes(h))
    return out


def stored_hashes(n: int, leaf_hash: bytes, reader: HashReader) -> list[bytes]:
    """Return the hashes to store when appending leaf n (A5, tlog ``StoredHashesForRecordHash``).

    The result starts with ``leaf_hash`` and goes on with the root of every
    complete subtree that leaf n completes, lowest first; it is to be stored
    from index ``stored_hash_index(0, n)`` on.  Reads at most log2(n) earlier
    hashes in one ``read_hashes`` call.  Raises ``ProofError`` on bad input.
    """
    return stored_hashes_for_batch(n, [leaf_hash], reader)


def stored_hashes_for_batch(
    old_size: int, leaf_hashes: Sequence[bytes], reader: HashReader
) -> list[bytes]:
    """Return the hashes to store when appending a batch of leaves to a tree (A5).

    The leaves get indexes ``old_size .. old_size + len(leaf_hashes) - 1``.  The
    result is what :func:`stored_hashes` returns for each leaf in turn,
    concatenated: stored-index order starting at ``stored_hash_count(old_size)``
    and ending just before ``stored_hash_count(old_size + len(leaf_hashes))``.
    It reads only the roots of the old tree's complete subtrees along its right
    edge (at most log2(old_size) + 1 hashes) in at most one ``read_hashes``
    call.  Raises ``ProofError`` on bad input.
    """
    rule = "A5 append"
    _check_count(rule, "old size", old_size)
    for i, h in enumerate(leaf_hashes):
        _check_hash(rule, f"leaf hash {i}", h)
    if not leaf_hashes:
        return []

    # The old tree is a run of complete subtrees, largest first: one per set
    # bit of old_size.  Those roots are the only old hashes a new node needs.
    levels = [lvl for lvl in range(old_size.bit_length() - 1, -1, -1) if old_size >> lvl & 1]
    indexes = _sub_tree_index(0, old_size, [])
    if len(indexes) != len(levels):
        raise AssertionError("bad math in stored_hashes_for_batch")
    # A stack of (level, hash) for the complete subtrees on the right edge.
    stack = list(zip(levels, _read(reader, indexes), strict=True))

    out: list[bytes] = []
    for h in leaf_hashes:
        level = 0
        out.append(h)
        # Each trailing 1 bit of the new leaf's index completes a subtree.
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            h = node_hash(left, h)
            level += 1
            out.append(h)
        stack.append((level, h))
    return out


# ---------------------------------------------------------------------------
# Tree hash and proofs from stored hashes.


def tree_hash(size: int, reader: HashReader) -> bytes:
    """Return the root of the tree with ``size`` leaves (A5, RFC 9162 §2.1.1, tlog ``TreeHash``).

    Size 0 gives :data:`EMPTY_ROOT` (SHA-256 of "", where Go gives zero bytes).
    Reads at most log2(size) + 1 stored hashes in one ``read_hashes`` call.
    Raises ``ProofError`` for a negative size.
    """
    _check_count("A5 tree hash", "size", size)
    if size == 0:
        return EMPTY_ROOT
    indexes = _sub_tree_index(0, size, [])
    h, rest = _sub_tree_hash(0, size, _read(reader, indexes))
    if rest:
        raise AssertionError("bad index math in tree_hash")
    return h


def _sub_tree_index(lo: int, hi: int, need: list[int]) -> list[int]:
    """Append to ``need`` the stored indexes that give the hash of leaves [lo, hi)."""
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        if lo & (k - 1):
            raise AssertionError("bad math in _sub_tree_index")
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def _sub_tree_hash(lo: int, hi: int, hashes: list[bytes]) -> tuple[bytes, list[bytes]]:
    """Return the hash of leaves [lo, hi) from the hashes of ``_sub_tree_index``, and the rest."""
    # Split into complete subtrees, largest first; fold them right to left.
    num_tree = 0
    while lo < hi:
        k, _ = _maxpow2(hi - lo + 1)
        if lo & (k - 1):
            raise AssertionError("bad math in _sub_tree_hash")
        num_tree += 1
        lo += k
    if num_tree == 0 or len(hashes) < num_tree:
        raise AssertionError("bad index math in _sub_tree_hash")
    h = hashes[num_tree - 1]
    for i in range(num_tree - 2, -1, -1):
        h = node_hash(hashes[i], h)
    return h, hashes[num_tree:]


def inclusion_proof(index: int, size: int, reader: HashReader) -> list[bytes]:
    """Return the audit path of leaf ``index`` in the tree of ``size`` leaves (RFC 9162 §2.1.3.1).

    The hashes are listed leaf side first; the list is empty when size is 1.
    Reads O(log size) stored hashes in at most one ``read_hashes`` call.
    Raises ``ProofError`` unless 0 <= index < size.
    """
    _check_count("A5 inclusion", "index", index)  # the index is named first when both are bad
    return inclusion_proofs([index], size, reader)[0]


def inclusion_proofs(indexes: Sequence[int], size: int, reader: HashReader) -> list[list[bytes]]:
    """Return the audit path of each of ``indexes`` in the tree of ``size`` leaves (RFC 9162).

    Each path is as :func:`inclusion_proof` gives it (which calls this for
    one leaf).  The audit paths of neighbouring leaves (a batch's receipts)
    share most of their hashes: each sibling subtree is hashed once and every
    stored hash is read in one ``read_hashes`` call.  Raises ``ProofError``
    unless 0 <= index < size for each index.
    """
    rule = "A5 inclusion"
    _check_count(rule, "size", size)
    paths: list[list[tuple[int, int]]] = []
    for index in indexes:
        _check_count(rule, "index", index)
        if index >= size:
            raise ProofError(rule, f"index {index} is not in a tree of size {size}")
        # RFC 9162 §2.1.3.1 PATH: the sibling range at each split, root side first.
        lo, hi, path = 0, size, []
        while hi - lo > 1:
            k = 1 << ((hi - lo - 1).bit_length() - 1)
            if index < lo + k:
                path.append((lo + k, hi))
                hi = lo + k
            else:
                path.append((lo, lo + k))
                lo += k
        path.reverse()
        paths.append(path)
    # Each sibling range is a run of complete subtrees, largest first (_sub_tree_index).
    parts: dict[tuple[int, int], list[int]] = {}
    for path in paths:
        for span in path:
            if span not in parts:
                parts[span] = _sub_tree_index(span[0], span[1], [])
    wanted = sorted({i for need in parts.values() for i in need})
    stored = dict(zip(wanted, _read(reader, wanted), strict=True))
    hashes: dict[tuple[int, int], bytes] = {}
    for span, need in parts.items():
        h = stored[need[-1]]
        for i in reversed(need[:-1]):
            h = node_hash(stored[i], h)
        hashes[span] = h
    return [[hashes[span] for span in path] for path in paths]


def consistency_proof(old_size: int, new_size: int, reader: HashReader) -> list[bytes]:
    """Return the consistency proof from ``old_size`` to ``new_size`` (RFC 9162 §2.1.4.1).

    The hashes are listed leaf side first; the list is empty when the sizes are
    equal.  Reads O(log new_size) stored hashes in at most one ``read_hashes``
    call.  Raises ``ProofError`` unless 1 <= old_size <= new_size.
    """
    rule = "A5 consistency"
    _check_count(rule, "old size", old_size)
    _check_count(rule, "new size", new_size)
    if old_size < 1:
        raise ProofError(rule, f"old size must be at least 1, found {old_size}")
    if old_size > new_size:
        raise ProofError(rule, f"old size {old_size} is larger than new size {new_size}")
    indexes = _tree_proof_index(0, new_size, old_size, [])
    proof, rest = _tree_proof(0, new_size, old_size, _read(reader, indexes))
    if rest:
        raise AssertionError("bad index math in consistency_proof")
    return proof


def _tree_proof_index(lo: int, hi: int, old_size: int, need: list[int]) -> list[int]:
    """Append the stored indexes that ``_tree_proof(lo, hi, old_size)`` consumes."""
    if not lo < old_size <= hi:
        raise AssertionError("bad math in _tree_proof_index")
    if old_size == hi:
        if lo == 0:
            return need
        return _sub_tree_index(lo, hi, need)
    k, _ = _maxpow2(hi - lo)
    if old_size <= lo + k:
        _tree_proof_index(lo, lo + k, old_size, need)
        _sub_tree_index(lo + k, hi, need)
    else:
        _sub_tree_index(lo, lo + k, need)
        _tree_proof_index(lo + k, hi, old_size, need)
    return need


def _tree_proof(
    lo: int, hi: int, old_size: int, hashes: list[bytes]
) -> tuple[list[bytes], list[bytes]]:
    """Return SUBPROOF(old_size - lo, D[lo:hi], lo == 0) of RFC 9162 §2.1.4.1, and the rest."""
    if not lo < old_size <= hi:
        raise AssertionError("bad math in _tree_proof")
    if old_size == hi:
        if lo == 0:
            # This subtree is the old tree itself, whose root the verifier has.
            return [], hashes
        h, hashes = _sub_tree_hash(lo, hi, hashes)
        return [h], hashes
    k, _ = _maxpow2(hi - lo)
    if old_size <= lo + k:
        proof, hashes = _tree_proof(lo, lo + k, old_size, hashes)
        sibling, hashes = _sub_tree_hash(lo + k, hi, hashes)
    else:
        sibling, hashes = _sub_tree_hash(lo, lo + k, hashes)
        proof, hashes = _tree_proof(lo + k, hi, old_size, hashes)
    proof.append(sibling)
    return proof, hashes


# ---------------------------------------------------------------------------
# Verification (needs no stored hashes).


def _inclusion_proof_size(index: int, size: int) -> int:
    """Return the length of the audit path of leaf ``index`` in a tree of ``size`` leaves."""
    # Below the level where index and size-1 part, the path is one hash per
    # level; above it, one hash per left sibling (set bit of the index).
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def root_from_inclusion(index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root implied by an audit path (RFC 9162 §2.1.3.2, steps 1-4).

    Raises ``ProofError`` unless 0 <= index < size, every hash is 32 bytes and
    the proof has exactly the number of hashes such a path has.
    """
    rule = "A5 inclusion"
    _check_count(rule, "index", index)
    _check_count(rule, "size", size)
    if index >= size:
        raise ProofError(rule, f"index {index} is not in a tree of size {size}")
    _check_hash(rule, "leaf hash", leaf_hash)
    _check_proof(rule, proof, _inclusion_proof_size(index, size))

    fn, sn = index, size - 1
    r = bytes(leaf_hash)
    for p in proof:
        if sn == 0:
            raise AssertionError("bad math in root_from_inclusion")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise AssertionError("bad math in root_from_inclusion")
    return r


def verify_inclusion(
    index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``proof`` proves leaf ``index`` in the tree of ``size`` (RFC 9162 §2.1.3.2).

    Returns None when the audit path leads from ``leaf_hash`` to ``root``.
    Raises ``ProofError`` on bad arguments, on a proof with extra or missing
    hashes, and when the computed root differs.
    """
    rule = "A5 inclusion"
    _check_hash(rule, "root", root)
    computed = root_from_inclusion(index, size, leaf_hash, proof)
    if computed != root:
        raise ProofError(
            rule,
            f"proof for leaf {index} leads to root {computed.hex()}, "
            f"expected {bytes(root).hex()} of the tree of size {size}",
        )


def _consistency_proof_size(old_size: int, new_size: int) -> int:
    """Return the length of the consistency proof from ``old_size`` to ``new_size`` (old < new)."""
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    border = ((old_size - 1) >> inner).bit_count()
    shift = _trailing_zeros(old_size)
    # When old_size is a power of two, the verifier supplies the first hash.
    start = 0 if old_size == 1 << shift else 1
    return start + inner - shift + border


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of ``new_size`` leaves extends that of ``old_size`` (RFC 9162 §2.1.4.2).

    Returns None when ``proof`` leads to both ``old_root`` and ``new_root``.
    Equal sizes need an empty proof and equal roots.  Raises ``ProofError``
    unless 1 <= old_size <= new_size, on a proof with extra or missing hashes,
    and when either computed root differs.
    """
    rule = "A5 consistency"
    _check_count(rule, "old size", old_size)
    _check_count(rule, "new size", new_size)
    if old_size < 1:
        raise ProofError(rule, f"old size must be at least 1, found {old_size}")
    if old_size > new_size:
        raise ProofError(rule, f"old size {old_size} is larger than new size {new_size}")
    _check_hash(rule, "old root", old_root)
    _check_hash(rule, "new root", new_root)

    if old_size == new_size:
        _check_proof(rule, proof, 0)
        if old_root != new_root:
            raise ProofError(
                rule,
                f"trees of the same size {old_size} have different roots "
                f"{bytes(old_root).hex()} and {bytes(new_root).hex()}",
            )
        return

    _check_proof(rule, proof, _consistency_proof_size(old_size, new_size))
    path = list(proof)
    # Step 2: if old_size is a power of two, prepend old_root.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # Steps 3-4.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5.
    fr = sr = path[0]
    # Step 6.
    for c in path[1:]:
        if sn == 0:
            raise AssertionError("bad math in verify_consistency")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # Step 7.
    if sn != 0:
        raise AssertionError("bad math in verify_consistency")
    if fr != old_root:
        raise ProofError(
            rule,
            f"proof leads to old root {fr.hex()}, expected {bytes(old_root).hex()} "
            f"of the tree of size {old_size}",
        )
    if sr != new_root:
        raise ProofError(
            rule,
            f"proof leads to new root {sr.hex()}, expected {bytes(new_root).hex()} "
            f"of the tree of size {new_size}",
        )


# ---------------------------------------------------------------------------
# In-memory storage and streaming roots.


class MemoryHashStore:
    """A :class:`HashReader` over a list in memory, for tests and the verify tool (A5).

    It keeps every stored hash in tlog's stored-index order.
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self._hashes: list[bytes] = []
        self._size = 0
        self.append_many(list(leaf_hashes))

    @property
    def size(self) -> int:
        """The number of leaves."""
        return self._size

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Return the stored hashes at ``indexes``.

        Raises ``ProofError`` for an index the store does not hold (a request
        for a tree larger than the store).
        """
        count = len(self._hashes)
        for i in indexes:
            if not 0 <= i < count:
                raise ProofError(
                    "A5 read_hashes",
                    f"stored hash {i} is not in a store of {self._size} leaves ({count} hashes)",
                )
        return [self._hashes[i] for i in indexes]

    def append(self, leaf_hash: bytes) -> None:
        """Append one leaf by its leaf hash (A5).  Raises ``ProofError`` on a bad hash."""
        self.append_many([leaf_hash])

    def append_many(self, leaf_hashes: Sequence[bytes]) -> None:
        """Append leaves by their leaf hashes (A5).  Raises ``ProofError`` on a bad hash."""
        new = stored_hashes_for_batch(self._size, leaf_hashes, self)
        if len(self._hashes) != stored_hash_count(self._size):
            raise AssertionError("bad math in MemoryHashStore")
        self._hashes.extend(bytes(h) for h in new)
        self._size += len(leaf_hashes)

    def root(self) -> bytes:
        """Return the root of the whole tree (A5); :data:`EMPTY_ROOT` when empty."""
        return tree_hash(self._size, self)


class RootAccumulator:
    """Streaming root of a growing tree in O(log n) memory (A5, RFC 9162 §2.1.1).

    It keeps only the roots of the complete subtrees along the right edge (a
    compact range), so a verifier can stream a bundle of any length.
    """

    def __init__(self) -> None:
        # (level, hash) of each complete subtree, largest (leftmost) first.
        self._stack: list[tuple[int, bytes]] = []
        self._size = 0

    @property
    def size(self) -> int:
        """The number of leaves added."""
        return self._size

    def add(self, leaf_hash: bytes) -> None:
        """Add the next leaf by its leaf hash.  Raises ``ProofError`` on a bad hash."""
        _check_hash("A5 tree hash", f"leaf hash {self._size}", leaf_hash)
        h = bytes(leaf_hash)
        level = 0
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            h = node_hash(left, h)
            level += 1
        self._stack.append((level, h))
        self._size += 1

    def stored_roots(self) -> dict[int, bytes]:
        """The root of each complete subtree of the tree so far, by stored-hash index (A5).

        These are the only stored hashes :func:`stored_hashes_for_batch` reads
        to extend the tree, and the only ones older than a new batch that the
        inclusion proofs of its leaves use.
        """
        out: dict[int, bytes] = {}
        lo = 0
        for level, h in self._stack:
            out[stored_hash_index(level, lo >> level)] = h
            lo += 1 << level
        return out

    def root(self) -> bytes:
        """Return the root of the leaves added so far; :data:`EMPTY_ROOT` when none."""
        if not self._stack:
            return EMPTY_ROOT
        h = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h
