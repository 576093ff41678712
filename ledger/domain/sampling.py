"""Consistent sampling and the stratified draw (抽签; DESIGN.md C3, A11).

Two algorithms live here, both specified byte for byte in
``vectors/draw/README.md`` (copied to ``tests/vectors/draw/README.md``):

* README §2: R. L. Rivest's *consistent sampler* without replacement, as in
  PyPI ``consistent-sampler`` 1.0.10 (``sha256_hex``, ``first_fraction``,
  ``sampler``).  Every id gets a ticket, a decimal fraction derived from
  ``SHA-256(SHA-256(seed) + id)``; the sample is the ids with the smallest
  tickets.
* README §3: the stratified draw (分层抽取) of DESIGN.md C3: the seed text built
  from the draw's label, id, checkpoint and revealed secrets, the exact
  ceiling count per stratum and the per-stratum consistent sample.

Pure functions: standard library and ``ledger.errors`` only, no clock, no
randomness, no floats.  Bad input raises :class:`~ledger.errors.FormatError`
naming the field and the rule.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

from ledger.errors import FormatError

__all__ = [
    "SEED_FORMAT",
    "Mapper",
    "TicketPool",
    "check_strata",
    "consistent_sample",
    "draw_seed",
    "draw_seeds",
    "parse_ratio",
    "seed_bytes",
    "sha256_hex",
    "stratified_selection",
    "stratum_count",
    "ticket",
    "ticket_order",
]

#: First line of the seed text (README §3 "Seed").
SEED_FORMAT = "spotcheck-draw-seed/1"

_HEX64 = re.compile(r"[0-9a-f]{64}")
_RATIO = re.compile(r"(0|1)(\.[0-9]+)?")


# ---------------------------------------------------------------------------
# README §2: consistent sampling


def sha256_hex(s: str) -> str:
    """``H(s)``: lowercase hex SHA-256 of the UTF-8 bytes of ``s`` (README §2).

    Always 64 characters.  Text holding a lone surrogate has no UTF-8 form and
    raises ``FormatError``.
    """
    return hashlib.sha256(_utf8(s, "s")).hexdigest()


def ticket(seed_hash: str, id_: str) -> str:
    """The generation-1 ticket of ``id_`` under the hashed seed ``S`` (README §2).

    ``seed_hash`` is ``S = H(seed)``, not the seed itself.  The ticket is
    ``"0."`` followed by the decimal digits of ``int(H(S + id), 16)``,
    left-padded with zeros to at least 64 digits and then reversed; it keeps
    full precision (64 to 78 digits) and is compared as a string.
    """
    digest = hashlib.sha256(_utf8(seed_hash + id_, "id")).digest()
    return _fraction(digest)


def ticket_order(seed: str, ids: Iterable[str]) -> list[tuple[str, str]]:
    """Every id with its ticket, ascending by ticket then id (README §2).

    Returns ``[(id, ticket), ...]``.  Tickets are compared as strings, never
    as numbers; a tie (never seen in practice) is broken by the id.  The input
    order does not matter.  Raises ``FormatError`` if ``ids`` repeats an id or
    holds something other than text.
    """
    distinct = _distinct(ids)
    return [(id_, "0." + digits) for digits, id_ in _sorted_tickets(_prefix(seed), distinct)]


def consistent_sample(seed: str, ids: Iterable[str], n: int) -> list[str]:
    """The first ``n`` ids in ticket order: sampling without replacement (README §2).

    Same result as ``consistent_sampler.sampler(ids, seed,
    with_replacement=False, take=n, output='id')`` of PyPI
    ``consistent-sampler`` 1.0.10; all ids when ``n`` is at least their
    number.  Raises ``FormatError`` for a negative ``n``, a repeated id or an
    id that is not text.
    """
    _check_count(n, "n")
    return _sample(_prefix(seed), _distinct(ids), n)


# The first digits of a ticket are the last decimal digits of the hash value,
# reversed.  _REVERSED_3[d] is the 3-digit string of d (zero-padded) reversed,
# read back as an integer: _REVERSED_3[12] == 210 ("012" -> "210").
_REVERSED_3: list[int] = [int(f"{d:03d}"[::-1]) for d in range(1000)]


def _sample(prefix: bytes, ids: list[str], n: int) -> list[str]:
    """First ``n`` of ``ids`` in ticket order; ``ids`` already checked distinct.

    Exact, but fast for large inputs (bench/draw.py).  Converting a 256-bit
    value to 78 decimal digits costs about as much as hashing, so for
    ``n < len(ids)`` we first rank every id by the integer formed by the first
    six digits of its ticket (``v mod 10**6`` with its digits reversed).  That
    key never decreases along the ticket order, so the ``n`` smallest tickets
    all lie among the ids whose key is at most the ``n``-th smallest key;
    only those (``n`` plus rare ties) get a full-precision ticket, and they
    are then ordered by (ticket, id) exactly as :func:`ticket_order` does.
    """
    if n == 0:
        return []
    if n >= len(ids):
        return [id_ for _, id_ in _sorted_tickets(prefix, ids)]
    try:
        keys = _six_digit_keys(prefix, map(str.encode, ids))  # C-speed over a million ids
    except UnicodeEncodeError:
        _not_utf8(ids)
    threshold = heapq.nsmallest(n, keys)[-1]
    shortlist = [id_ for id_, key in zip(ids, keys, strict=True) if key <= threshold]
    return [id_ for _, id_ in _sorted_tickets(prefix, shortlist)[:n]]


def _encoded(ids: list[str]) -> Iterator[bytes]:
    """The UTF-8 bytes of each id, lazily; ``FormatError`` naming the first id that has none."""
    try:
        yield from map(str.encode, ids)
    except UnicodeEncodeError:
        _not_utf8(ids)


def _not_utf8(ids: list[str]) -> NoReturn:
    """An id could not be encoded: raise ``_check_ids``'s ``FormatError`` naming it."""
    _check_ids(ids)
    raise AssertionError("bad math: _check_ids accepted an id encode() refused")


def _six_digit_keys(prefix: bytes, encoded: Iterable[bytes]) -> list[int]:
    """Each id's ticket cut to its first six digits, as an integer.

    The key never decreases along the ticket order (ties are possible).
    The first digits of a ticket are the last decimal digits of the hash
    value ``H(S + id)``, reversed: ``v mod 10**6`` with its digits reversed.
    """
    copy = hashlib.sha256(prefix).copy  # S absorbed once, then copied per id
    from_bytes = int.from_bytes
    rev = _REVERSED_3
    keys: list[int] = []
    append = keys.append
    for raw in encoded:
        h = copy()
        h.update(raw)
        low = from_bytes(h.digest(), "big") % 1_000_000
        append(rev[low % 1000] * 1000 + rev[low // 1000])
    return keys


_T = TypeVar("_T")
_R = TypeVar("_R")
Mapper = Callable[[Callable[[_T], _R], Sequence[_T]], list[_R]]
"""``mapper(fn, items) -> [fn(item) for item in items]``, possibly on other processes
(``fn`` is a module-level function, ``items`` picklable); the results in order."""

#: Seeds per job when :meth:`TicketPool.prepare` spreads orders over a mapper.
ORDERS_PER_JOB = 128


def _orders_job(job: tuple[list[str], list[bytes], list[bytes]]) -> list[list[int]]:
    """The ticket order of ``ids`` (as positions) under each prefix: one mapper job."""
    ids, encoded, prefixes = job
    return [list(_ranking(prefix, ids, encoded)) for prefix in prefixes]


def _ranking(prefix: bytes, ids: list[str], encoded: list[bytes]) -> Iterator[int]:
    """Positions of ``ids`` in ticket order under ``prefix`` (README §2), computed lazily.

    Every id is hashed to its six-digit key (the smallest ticket needs them
    all); full tickets are computed only to order ids whose keys are equal.
    """
    keys = _six_digit_keys(prefix, encoded)
    ranked = sorted(range(len(keys)), key=keys.__getitem__)
    count, i = len(ranked), 0
    while i < count:
        j, key = i + 1, keys[ranked[i]]
        while j < count and keys[ranked[j]] == key:
            j += 1
        if j == i + 1:
            yield ranked[i]
        else:  # equal first six digits: order the group by full ticket, then id
            group = ranked[i:j]
            position = {ids[p]: p for p in group}
            for _, id_ in _sorted_tickets(prefix, [ids[p] for p in group]):
                yield position[id_]
        i = j


class TicketPool:
    """Ids ordered many times under different seeds (C3: an inspector pool, per enterprise).

    :meth:`order` yields the ids in exactly :func:`ticket_order`'s order,
    lazily: every id is hashed (the smallest ticket needs them all), but only
    to the six-digit key :func:`_sample` uses, and full tickets are computed
    only to break ties between equal keys.  Taking a team's few inspectors
    from the front therefore costs one hash per id instead of one
    256-bit-to-decimal conversion per id and a sort of 64-digit strings.
    Raises ``FormatError`` like :func:`ticket_order` for a repeated id or one
    that is not text.
    """

    def __init__(self, ids: Iterable[str]) -> None:
        self.ids = _distinct(ids)
        self._encoded = list(_encoded(self.ids))
        self._ready: dict[str, list[int]] = {}

    def prepare(self, seeds: Sequence[str], mapper: Mapper) -> None:
        """Compute the orders under ``seeds`` ahead, spread over ``mapper`` (e.g. a pool).

        :meth:`order` then reads them instead of hashing; the orders are the
        same (each is one call of the function :meth:`order` runs lazily).
        """
        todo = [seed for seed in dict.fromkeys(seeds) if seed not in self._ready]
        prefixes = [_prefix(seed) for seed in todo]
        jobs = [
            (self.ids, self._encoded, prefixes[i : i + ORDERS_PER_JOB])
            for i in range(0, len(prefixes), ORDERS_PER_JOB)
        ]
        orders = [order for chunk in mapper(_orders_job, jobs) for order in chunk]
        if len(orders) != len(todo):
            raise AssertionError("bad math: the mapper lost orders")
        self._ready.update(zip(todo, orders, strict=True))

    def order(self, seed: str) -> Iterable[str]:
        """The ids in ticket order under ``seed`` (README §2), computed as far as iterated.

        The result may be iterated again (each pass starts at the front).
        """
        ready = self._ready.pop(seed, None)
        if ready is not None:
            return _Memo(map(self.ids.__getitem__, ready))
        return _Memo(self._order(seed))

    def _order(self, seed: str) -> Iterator[str]:
        ids = self.ids
        for position in _ranking(_prefix(seed), ids, self._encoded):
            yield ids[position]


class _Memo:
    """A re-iterable view of an iterator, which runs only as far as needed."""

    def __init__(self, source: Iterator[str]) -> None:
        self._source: Iterator[str] | None = source
        self._seen: list[str] = []

    def __iter__(self) -> Iterator[str]:
        seen = self._seen
        i = 0
        while True:
            if i < len(seen):
                yield seen[i]
            elif self._source is None:
                return
            else:
                try:
                    item = next(self._source)
                except StopIteration:
                    self._source = None
                    return
                seen.append(item)
                yield item
            i += 1


def _sorted_tickets(prefix: bytes, ids: list[str]) -> list[tuple[str, str]]:
    """``(digits, id)`` ascending, ``digits`` being the ticket without ``"0."``.

    All tickets start with ``"0."``, so leaving it off keeps the order.  The
    digits are ``str(int(H(S + id), 16)).zfill(64)`` reversed (README §2).
    """
    copy = hashlib.sha256(prefix).copy
    from_bytes = int.from_bytes
    pairs: list[tuple[str, str]] = []
    append = pairs.append
    for id_, raw in zip(ids, _encoded(ids), strict=True):
        h = copy()
        h.update(raw)
        append((str(from_bytes(h.digest(), "big")).zfill(64)[::-1], id_))
    pairs.sort()
    return pairs


def _prefix(seed: str) -> bytes:
    """``S = H(seed)`` as the ASCII bytes every ticket hash starts with (README §2)."""
    return sha256_hex(seed).encode("ascii")


def _fraction(digest: bytes) -> str:
    """Reversed-decimal fraction of a 32-byte digest (README §2, ``first_fraction``)."""
    digits = str(int.from_bytes(digest, "big")).zfill(64)
    return "0." + digits[::-1]


def _distinct(ids: Iterable[str], field: str = "ids", *, unique: bool = True) -> list[str]:
    """Materialise ``ids``, requiring strings, and distinct ones unless ``unique`` is false.

    README §2 samples "a list of distinct id strings".  The fast path only
    compares the size of a set and the set of types; the slow path
    :func:`_check_ids` names the culprit.  UTF-8 encodability is checked when
    the ids are hashed.  (:func:`_checked_strata` passes ``unique=False`` and
    checks uniqueness across the whole draw at once.)
    """
    out = ids if isinstance(ids, list) else list(ids)
    if set(map(type, out)) - {str} or (unique and len(set(out)) != len(out)):
        _check_ids(out, field)
    return out


def _check_ids(ids: Iterable[object], field: str = "ids") -> None:
    """Slow path: name the first id that is not text, repeats, or is not UTF-8."""
    seen: set[str] = set()
    for i, id_ in enumerate(ids):
        if type(id_) is not str:
            raise FormatError(
                "draw.candidate_id",
                f"id #{i} must be a string, got {type(id_).__name__}",
                field=field,
            )
        _utf8(id_, field)
        if id_ in seen:
            raise FormatError(
                "draw.candidates_unique",
                f"id {id_!r} appears more than once in the draw",
                field=field,
            )
        seen.add(id_)


def _utf8(s: str, field: str) -> bytes:
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FormatError(
            "draw.utf8", f"text is not encodable as UTF-8: {exc.reason}", field=field
        ) from None


def _check_count(n: object, field: str) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise FormatError("draw.count", f"expected a non-negative integer, got {n!r}", field=field)


# ---------------------------------------------------------------------------
# README §3: the seed


def seed_bytes(
    label: str,
    draw_id: str,
    tree_size: int,
    root_hex: str,
    reveals: Mapping[str, str] | Sequence[tuple[str, str]],
) -> bytes:
    """The seed text of a draw, as UTF-8 bytes (README §3 "Seed").

    Lines, each ended by one LF::

        spotcheck-draw-seed/1
        label:<label>
        draw:<draw_id>
        checkpoint:<tree_size>:<root_hex>
        reveal:<party>:<secret_hex>     one per party, ascending by UTF-8 bytes

    ``reveals`` maps party to secret hex, or is a sequence of
    ``(party, secret_hex)`` pairs in any order.  Raises ``FormatError``
    naming the field when a text field (``label``, ``draw_id``, ``party``) is
    empty or holds CR or LF, a party repeats, ``tree_size`` is not a
    non-negative integer, or ``root_hex``/``secret_hex`` is not 64 lowercase
    hex characters.
    """
    _check_text(label, "label")
    _check_text(draw_id, "draw_id")
    _check_count(tree_size, "tree_size")
    _check_hex64(root_hex, "root_hex")
    pairs = list(reveals.items()) if isinstance(reveals, Mapping) else list(reveals)
    lines = [
        SEED_FORMAT,
        f"label:{label}",
        f"draw:{draw_id}",
        f"checkpoint:{tree_size}:{root_hex}",
    ]
    keyed: list[tuple[bytes, str]] = []
    for pair in pairs:
        if not (isinstance(pair, tuple | list) and len(pair) == 2):
            raise FormatError(
                "draw.seed",
                f"a reveal must be a (party, secret_hex) pair, got {pair!r}",
                field="reveals",
            )
        party, secret_hex = pair
        _check_text(party, "party")
        _check_hex64(secret_hex, "secret_hex")
        keyed.append((_utf8(party, "party"), f"reveal:{party}:{secret_hex}"))
    keyed.sort(key=lambda k: k[0])
    for (a, _), (b, _) in itertools.pairwise(keyed):
        if a == b:
            raise FormatError(
                "draw.parties_distinct",
                f"party {a.decode('utf-8')!r} appears more than once",
                field="party",
            )
    lines.extend(line for _, line in keyed)
    return "".join(line + "\n" for line in lines).encode("utf-8")


def draw_seed(
    label: str,
    draw_id: str,
    tree_size: int,
    root_hex: str,
    reveals: Mapping[str, str] | Sequence[tuple[str, str]],
) -> str:
    """``seed``: lowercase hex SHA-256 of :func:`seed_bytes` (README §3).

    This string is the consistent sampler's seed (which hashes it again).
    Raises what :func:`seed_bytes` raises.
    """
    return hashlib.sha256(seed_bytes(label, draw_id, tree_size, root_hex, reveals)).hexdigest()


def draw_seeds(
    labels: Sequence[str],
    draw_id: str,
    tree_size: int,
    root_hex: str,
    reveals: Mapping[str, str] | Sequence[tuple[str, str]],
) -> list[str]:
    """:func:`draw_seed` of each label, the other inputs shared (e.g. one per enterprise, C3).

    The shared inputs are checked once; each label is checked as
    :func:`seed_bytes` checks it.  Raises what :func:`seed_bytes` raises.
    """
    if not labels:
        return []
    first = labels[0]
    template = seed_bytes(first, draw_id, tree_size, root_hex, reveals)
    head = f"{SEED_FORMAT}\nlabel:".encode()
    tail = template[len(head) + len(first.encode("utf-8")) :]  # "\ndraw:..." to the end
    seeds = []
    for label in labels:
        _check_text(label, "label")
        seeds.append(hashlib.sha256(head + label.encode("utf-8") + tail).hexdigest())
    return seeds


def _check_text(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise FormatError(
            "draw.seed_text", f"expected a string, got {type(value).__name__}", field=field
        )
    if value == "":
        raise FormatError("draw.seed_text", "must not be empty", field=field)
    if "\r" in value or "\n" in value:
        raise FormatError("draw.seed_text", "must not contain CR or LF", field=field)
    _utf8(value, field)


def _check_hex64(value: object, field: str) -> None:
    if not (isinstance(value, str) and _HEX64.fullmatch(value)):
        raise FormatError(
            "draw.seed_hex",
            f"expected 64 lowercase hex characters, got {value!r}",
            field=field,
        )


# ---------------------------------------------------------------------------
# README §3: per-stratum selection


def parse_ratio(text: str) -> tuple[int, int]:
    """Read a sampling ratio (抽查比例) as the exact fraction ``p / 10**k`` (README §3).

    ``text`` must match ``^(0|1)(\\.[0-9]+)?$`` (ASCII digits, no sign, no
    exponent, no spaces) and be at most 1.  Returns ``(p, 10**k)`` where
    ``k`` is the number of fraction digits: ``"0.05"`` gives ``(5, 100)``,
    ``"1"`` gives ``(1, 1)``.  Raises ``FormatError`` (field ``ratio``).
    """
    if not isinstance(text, str) or not _RATIO.fullmatch(text):
        raise FormatError(
            "draw.ratio",
            f"expected a decimal string matching ^(0|1)(\\.[0-9]+)?$, got {text!r}",
            field="ratio",
        )
    whole, _, frac = text.partition(".")
    scale = 10 ** len(frac)
    numerator = int(whole + frac)
    if numerator > scale:
        raise FormatError("draw.ratio", f"ratio {text} is greater than 1", field="ratio")
    return numerator, scale


def stratum_count(ratio: str, size: int) -> int:
    """How many to draw from a stratum: ``ceil(ratio * size)`` exactly (README §3).

    Computed as ``(p*size + 10**k - 1) // 10**k`` on integers, so ``"0.07"``
    of 100 is 7 (a double would say 8).  Never more than ``size``.  Raises
    ``FormatError`` for a bad ratio or a negative size.
    """
    _check_count(size, "size")
    p, scale = parse_ratio(ratio)
    return (p * size + scale - 1) // scale


def check_strata(strata: Sequence[Mapping[str, object]]) -> None:
    """Check the ``strata`` of a draw without drawing (README §3 "Inputs").

    Each item must be ``{"stratum": str, "ratio": ratio string, "candidates":
    [id, ...]}``; stratum labels must be distinct and every candidate id must
    appear once in the whole draw.  Raises ``FormatError`` naming the field.
    """
    _checked_strata(strata)


def stratified_selection(seed: str, strata: Sequence[Mapping[str, object]]) -> list[dict[str, Any]]:
    """Select per stratum with consistent sampling (README §3; DESIGN.md A11 ``selection``).

    ``strata`` is a list of ``{"stratum", "ratio", "candidates"}`` (分层: one
    stratum per credit-risk grade, for example).  Returns
    ``[{"stratum", "count", "selected"}, ...]`` in ascending UTF-8 byte order
    of the stratum label, including strata whose count is 0; ``selected`` is
    in ticket order.  All strata share ``seed``.  Raises ``FormatError`` when
    a stratum is malformed, a stratum label repeats, or a candidate id
    appears twice anywhere in the draw.
    """
    prefix = _prefix(seed)
    selection: list[dict[str, Any]] = []
    for label, ratio, ids in _checked_strata(strata):
        count = stratum_count(ratio, len(ids))
        selection.append(
            {"stratum": label, "count": count, "selected": _sample(prefix, ids, count)}
        )
    return selection


def _checked_strata(strata: Sequence[Mapping[str, object]]) -> list[tuple[str, str, list[str]]]:
    """``(stratum, ratio, ids)`` in ascending UTF-8 order of the stratum, checked."""
    if isinstance(strata, str | bytes) or not isinstance(strata, Sequence):
        raise FormatError("draw.strata", "strata must be a list", field="strata")
    checked: list[tuple[bytes, str, str, list[str]]] = []
    everyone: set[str] = set()
    total = 0
    for i, item in enumerate(strata):
        if not isinstance(item, Mapping):
            raise FormatError("draw.strata", f"stratum #{i} must be an object", field="strata")
        label = item.get("stratum")
        ratio = item.get("ratio")
        candidates = item.get("candidates")
        if not isinstance(label, str):
            raise FormatError(
                "draw.strata", f"stratum #{i}: label must be a string", field="stratum"
            )
        if not isinstance(ratio, str):
            raise FormatError(
                "draw.ratio", f"stratum {label!r}: ratio must be a string", field="ratio"
            )
        if not isinstance(candidates, list | tuple):
            raise FormatError(
                "draw.strata",
                f"stratum {label!r}: candidates must be a list",
                field="candidates",
            )
        ids = _distinct(candidates, "candidates", unique=False)
        everyone.update(ids)
        total += len(ids)
        if len(everyone) != total:
            _check_ids([id_ for c in checked for id_ in c[3]] + ids, "candidates")
        parse_ratio(ratio)
        checked.append((_utf8(label, "stratum"), label, ratio, ids))
    checked.sort(key=lambda c: c[0])
    for a, b in itertools.pairwise(checked):
        if a[0] == b[0]:
            raise FormatError(
                "draw.strata", f"stratum {a[1]!r} appears more than once", field="stratum"
            )
    return [(label, ratio, ids) for _, label, ratio, ids in checked]
