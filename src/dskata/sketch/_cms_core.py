"""The state and the update and query paths of the count-min sketch (see
:mod:`dskata.sketch.count_min` for the theory and the public class).

:class:`CountMinCore` holds the flat row-major table, the scalar path (with its buffer of unit
adds and the lock that guards applying it), the batch path and aging; the public
:class:`~dskata.sketch.CountMinSketch` adds merging, the inner product, copying, equality and
serialisation.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Iterable
from itertools import count
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from dskata.hashing import Key, hash64, validate_seed
from dskata.sketch import _cms_estimators
from dskata.sketch._cms_args import (
    DTYPES,
    as_sequence,
    check_count,
    check_counts,
    check_dtype,
    check_estimator,
    check_int,
    repeats_enough,
)
from dskata.sketch._cms_update import (
    U64_END,
    add_cells_loop,
    add_conservative,
    cell_sums,
    column_sums,
    saturating_add,
)
from dskata.sketch._rows import MAX_WIDTH, RowIndexer, cells_from_hashes, cells_many

__all__ = ["CountMinCore", "ErrorBound", "Estimator"]

Estimator = Literal["min", "count-mean-min"]

_U64_END: Final = U64_END
_MAX_WIDTH: Final = MAX_WIDTH
# Unit adds buffered before a bulk flush; at most this many flushed one by one (below it the numpy
# call overhead outweighs the per-key loop).
_PENDING_LIMIT: Final = 4096
_SCALAR_FLUSH: Final = 24
# Batches of str keys at least this long are checked for repeats before aggregating them.
_DEDUP_MIN: Final = 8192
# Keys per chunk of the batch paths: 64Ki keys x depth rows of 8 bytes stay in L2 (measured 1.8x
# faster than whole-batch temporaries on 1M keys).
_CHUNK: Final = 65536


class _BoundPair(NamedTuple):
    bound: float
    probability: float


class ErrorBound(_BoundPair):
    """The count-min guarantee for the current stream: the pair ``(bound, probability)``.

    Every estimate is at least the true count and, with probability at least ``probability``
    (``1 - delta``), at most the true count plus ``bound`` (``epsilon * total``). It unpacks as a
    pair (``bound, probability = sk.error_bound()``) and also carries ``epsilon`` and ``delta``.

    >>> eb = ErrorBound(2.5, 0.99, 0.0025, 0.01)
    >>> bound, probability = eb
    >>> (bound, probability, eb.epsilon, eb.delta)
    (2.5, 0.99, 0.0025, 0.01)
    """

    epsilon: float
    delta: float

    def __new__(cls, bound: float, probability: float, epsilon: float, delta: float) -> ErrorBound:
        self = super().__new__(cls, bound, probability)
        self.epsilon = epsilon
        self.delta = delta
        return self

    def __getnewargs__(self) -> tuple[float, float, float, float]:
        return (self.bound, self.probability, self.epsilon, self.delta)

    def __repr__(self) -> str:
        return (
            f"ErrorBound(bound={self.bound!r}, probability={self.probability!r}, "
            f"epsilon={self.epsilon!r}, delta={self.delta!r})"
        )


class CountMinCore:
    """State, updates and queries of :class:`~dskata.sketch.CountMinSketch` (documented there)."""

    __slots__ = (
        "_conservative",
        "_depth",
        "_estimator",
        "_indexer",
        "_lock",
        "_max",
        "_pending",
        "_rows_exact",
        "_seed",
        "_table",
        "_total",
        "_view",
        "_width",
    )

    def __init__(
        self,
        width: int,
        depth: int,
        *,
        seed: int = 0,
        conservative: bool = False,
        dtype: npt.DTypeLike = np.uint32,
        estimator: Estimator = "min",
    ) -> None:
        width = check_int("width", width, 1, _MAX_WIDTH)
        depth = check_int("depth", depth, 1, 64)
        seed = validate_seed(seed)
        if not isinstance(conservative, (bool, np.bool_)):
            raise TypeError(f"conservative must be a bool, got {type(conservative).__name__}")
        dt = check_dtype(dtype)
        self._estimator = check_estimator(estimator)
        self._width = width
        self._depth = depth
        self._seed = seed
        self._conservative = bool(conservative)
        # One flat row-major table: row r occupies [r * width, (r + 1) * width).
        self._table: npt.NDArray[Any] = np.zeros(width * depth, dtype=dt)
        # A memoryview shares the table's memory; its item access is several times cheaper than
        # numpy scalar indexing, which is what the scalar path spends its time on.
        self._view = memoryview(self._table)  # type: ignore[arg-type]
        self._max = int(np.iinfo(dt).max)
        self._total = 0
        # True while every row provably sums to total (plain updates only, no halving); _check
        # then asserts it.
        self._rows_exact = True
        self._pending: list[int] = []
        # Guards the counters while buffered adds are applied and while a writer changes them.
        self._lock = threading.Lock()
        self._indexer = RowIndexer(width, depth, seed)

    # ------------------------------------------------------------------ properties

    @property
    def width(self) -> int:
        """Counters per row."""
        return self._width

    @property
    def depth(self) -> int:
        """Number of rows."""
        return self._depth

    @property
    def seed(self) -> int:
        """The hash seed."""
        return self._seed

    @property
    def conservative(self) -> bool:
        """True if updates are conservative."""
        return self._conservative

    @property
    def dtype(self) -> np.dtype[Any]:
        """The counters' numpy dtype."""
        return self._table.dtype

    @property
    def total(self) -> int:
        """N, the sum of every count added (saturates at ``2**64 - 1``)."""
        return self._total

    @property
    def epsilon(self) -> float:
        """``e / width``: the additive error bound as a fraction of :attr:`total`."""
        return math.e / self._width

    @property
    def delta(self) -> float:
        """``exp(-depth)``: the probability that one estimate exceeds the bound."""
        return math.exp(-self._depth)

    @property
    def nbytes(self) -> int:
        """Bytes held by the counters."""
        return int(self._table.nbytes)

    @property
    def table(self) -> npt.NDArray[Any]:
        """A read-only ``(depth, width)`` view of the counters."""
        self._flush()
        view: npt.NDArray[Any] = self._table.reshape(self._depth, self._width).view()
        view.flags.writeable = False
        return view

    def error_bound(self) -> ErrorBound:
        """The additive error ``epsilon * total`` and the probability it holds.

        Complexity: O(1).

        >>> from dskata import CountMinSketch
        >>> cms = CountMinSketch(272, 5)
        >>> cms.add_many(["a"] * 1000)
        >>> bound, probability = cms.error_bound()
        >>> round(bound, 3), round(probability, 4)
        (9.994, 0.9933)
        """
        eps = self.epsilon
        delta = self.delta
        return ErrorBound(bound=eps * self._total, probability=1 - delta, epsilon=eps, delta=delta)

    # ------------------------------------------------------------------ scalar path

    def add(self, key: Key, count: int = 1) -> None:
        """Add ``count`` occurrences of ``key``.

        Args:
            key: ``str``, bytes-like or ``int``.
            count: a non-negative int.

        Raises:
            TypeError: ``key`` or ``count`` has an unsupported type (nothing changes).
            ValueError: ``count`` is negative (nothing changes).

        Complexity: O(depth + len(key)).

        >>> from dskata import CountMinSketch
        >>> cms = CountMinSketch(100, 4, conservative=True)
        >>> cms.add("x", 2); cms.add("x")
        >>> cms["x"]
        3
        """
        if count == 1 and type(count) is int:
            # Unit adds are buffered as 64-bit hashes (hash64 validates the key first) and applied
            # in bulk by _flush, in order, before anything reads or changes the counters: the
            # state any caller can observe is exactly that of applying each add at once.
            pending = self._pending
            pending.append(hash64(key, self._seed))
            t = self._total + 1
            self._total = t if t < _U64_END else _U64_END - 1
            if len(pending) >= _PENDING_LIMIT:
                self._flush()
            return
        count = check_count(count)
        cells = self._indexer(hash64(key, self._seed))
        with self._lock:
            self._apply_pending()
            self._add_cells(cells, count)
        t = self._total + count
        self._total = t if t < _U64_END else _U64_END - 1

    def _add_cells(self, cells: Iterable[int], count: int) -> None:
        view = self._view
        top = self._max
        if self._conservative:
            cells = tuple(cells)
            target = min([view[j] for j in cells]) + count
            if target > top:
                target = top
            for j in cells:
                if view[j] < target:
                    view[j] = target
        else:
            for j in cells:
                v = view[j] + count
                view[j] = v if v <= top else top

    def _flush(self) -> None:
        """Apply the buffered unit adds, in order, under the lock (a no-op if there are none)."""
        if self._pending:
            with self._lock:
                self._apply_pending()

    def _apply_pending(self) -> None:
        """Apply the buffered unit adds in order; the caller holds ``_lock``.

        The adds leave the buffer only after they are applied: a concurrent reader that still
        sees them waits for the lock, and one that no longer sees them reads their effect.
        """
        pending = self._pending
        n = len(pending)  # a concurrent add may append more: they stay for the next flush
        if n == 0:
            return
        if n <= _SCALAR_FLUSH:
            indexer = self._indexer
            for base in pending[:n]:
                self._add_cells(indexer(base), 1)
        else:
            cells = self._cells_from_hashes(np.array(pending[:n], dtype=np.uint64))
            if self._conservative:
                add_conservative(self._table, cells, None, self._max)
            else:
                self._saturating_add(cell_sums(cells, None, self._table.shape[0], self._depth))
        del pending[:n]

    def estimate(self, key: Key, *, estimator: Estimator | None = None) -> int:
        """Return the estimated count of ``key``: at least the true count (``min`` estimator).

        Args:
            key: ``str``, bytes-like or ``int``.
            estimator: ``None`` (the sketch's default, ``"min"`` unless set at construction),
                ``"min"`` (the count-min bound) or ``"count-mean-min"`` (Deng and Rafiei 2007):
                each row's counter minus that row's expected noise ``(N - C) / (width - 1)``,
                the median over rows, capped by the min estimate and floored at 0. It removes
                most of the bias on flat streams, but it may underestimate, and on skewed
                streams the noise is concentrated in a few heavy keys so subtracting the
                average noise helps little: keep ``min`` where an upper bound matters.

        Complexity: O(depth + len(key)).

        >>> from dskata import CountMinSketch
        >>> cms = CountMinSketch(50, 3)
        >>> cms.estimate("never added")
        0
        """
        if estimator is None:
            estimator = self._estimator  # type: ignore[assignment]
        elif estimator != "min":
            check_estimator(estimator)
        cells = self._indexer(hash64(key, self._seed))
        if self._pending:
            self._flush()
        view = self._view
        values = [view[j] for j in cells]
        low = min(values)
        if estimator == "min":
            return low
        return int(
            _cms_estimators.count_mean_min(
                np.array([values], dtype=np.float64), low, self._total, self._width
            )[0]
        )

    def __getitem__(self, key: Key) -> int:
        """``sk[key]`` is :meth:`estimate` with the sketch's default estimator."""
        return self.estimate(key)

    # ------------------------------------------------------------------ batch path

    def _cells_many(self, keys: npt.ArrayLike | Iterable[Key]) -> npt.NDArray[np.intp]:
        return cells_many(keys, self._width, self._depth, self._seed)

    def _columns_many(self, keys: npt.ArrayLike | Iterable[Key]) -> npt.NDArray[np.intp]:
        return cells_many(keys, self._width, self._depth, self._seed, offsets=False)

    def _cells_from_hashes(self, bases: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
        return cells_from_hashes(bases, self._width, self._depth, self._seed)

    def add_many(
        self, keys: npt.ArrayLike | Iterable[Key], counts: npt.ArrayLike | None = None
    ) -> None:
        """Add every key in ``keys`` (``counts[i]`` times each, or once), as if added in order.

        The result equals, counter for counter, calling :meth:`add` on each key in turn. Integer
        arrays are hashed in numpy without a Python loop, in chunks of 64Ki keys, and the plain
        update is one ``bincount`` per row; long skewed lists of str keys are first reduced to
        their distinct keys. Conservative update depends on order, so it runs per item
        (consecutive repeats folded), several times slower than the plain update.

        Args:
            keys: a 1-D numpy array of integers, str or bytes, or any iterable of keys.
            counts: optional non-negative integers, one per key.

        Raises:
            TypeError: a key or count has an unsupported type (nothing changes).
            ValueError: shapes disagree or a count is negative (nothing changes).

        Complexity: O(n * depth).

        >>> import numpy as np
        >>> from dskata import CountMinSketch
        >>> cms = CountMinSketch(100, 3)
        >>> cms.add_many(np.array([1, 2, 2], dtype=np.uint64), counts=[5, 1, 1])
        >>> cms[1], cms[2], cms.total
        (5, 2, 7)
        """
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "US":
            keys = keys.tolist()  # the str/bytes path hashes Python objects anyway
        seq = as_sequence(keys)
        n = len(seq)
        cnt = check_counts(counts, n)
        if n == 0:
            self._cells_many(seq)  # still refuses an array of an unsupported dtype
            return
        if cnt is None and not self._conservative and type(seq) is list and self._add_distinct(seq):
            return
        if cnt is None:
            batch_total = n
        elif float(cnt.max()) * n < 2.0**63:
            batch_total = int(cnt.sum(dtype=np.uint64))
        else:
            batch_total = sum(cnt.tolist())  # exact where uint64 could wrap
        if self._conservative or batch_total >= _U64_END:
            # Order matters (conservative) or per-cell sums could wrap in uint64: hash every
            # chunk first (a bad key raises before anything changes), then apply in order.
            cells = self._cells_of_repeats(seq) if type(seq) is list else None
            if cells is None:
                chunks = [self._cells_many(seq[i : i + _CHUNK]) for i in range(0, n, _CHUNK)]
                cells = np.concatenate(chunks, axis=1)
            with self._lock:
                self._apply_pending()
                if self._conservative:
                    add_conservative(self._table, cells, cnt, self._max)
                else:
                    add_cells_loop(self._view, cells, cnt, self._max)
        else:
            # Chunks keep every temporary in cache; sums go to a scratch array, so a bad key
            # in a late chunk raises before the table changes.
            sums = np.zeros(self._table.shape[0], dtype=np.uint64)
            for i in range(0, n, _CHUNK):
                part = None if cnt is None else cnt[i : i + _CHUNK]
                sums += self._column_sums(self._columns_many(seq[i : i + _CHUNK]), part)
            with self._lock:
                self._apply_pending()
                self._saturating_add(sums)
        t = self._total + batch_total
        self._total = t if t < _U64_END else _U64_END - 1

    def _add_distinct(self, keys: list[Any]) -> bool:
        """Plain-add a long, skewed list of str/bytes keys by hashing each distinct key once.

        Plain update commutes, so the counters come out the same; Python caches str hashes, so
        counting distinct keys costs a fraction of MurmurHash3 on every key. Returns False (and
        changes nothing) when the batch does not qualify.
        """
        if len(keys) < _DEDUP_MIN or not repeats_enough(keys):
            return False
        first = keys[0]
        if type(first) is str and first.isascii():
            # ASCII str batches hash in numpy (dskata.hashing vectorises MurmurHash3 over the
            # batch): hashing every key measured 1.5x faster than counting distinct keys first.
            return False
        try:
            agg = Counter(keys)
        except TypeError:  # an unhashable key (bytearray): take the general path
            return False
        # Only if every distinct key is exactly str or bytes: Counter folds True into 1 and 1.0
        # into 1, which hashing must refuse.
        if not set(map(type, agg)) <= {str, bytes}:
            return False
        distinct = list(agg)
        cnt = np.fromiter(agg.values(), dtype=np.uint64, count=len(agg))
        sums = np.zeros(self._table.shape[0], dtype=np.uint64)
        for i in range(0, len(distinct), _CHUNK):
            part = cnt[i : i + _CHUNK]
            sums += self._column_sums(self._columns_many(distinct[i : i + _CHUNK]), part)
        with self._lock:
            self._apply_pending()
            self._saturating_add(sums)
        t = self._total + len(keys)
        self._total = t if t < _U64_END else _U64_END - 1
        return True

    def _cells_of_repeats(self, keys: list[Any]) -> npt.NDArray[np.intp] | None:
        """The cells of a long, skewed list of str/bytes keys, hashing each distinct key once.

        For the conservative path, which needs every item's cells in order: a dict maps each key
        to the position of its first occurrence, the distinct keys are hashed, and their cells are
        gathered back per item. Returns None (the caller hashes every key) if the batch does not
        qualify.
        """
        n = len(keys)
        if n < _DEDUP_MIN or not repeats_enough(keys):
            return None
        first_of: dict[Any, int] = {}
        try:
            first = np.fromiter(map(first_of.setdefault, keys, count()), dtype=np.intp, count=n)
        except TypeError:  # an unhashable key (bytearray): take the general path
            return None
        # Only if every distinct key is exactly str or bytes: a dict folds True into 1 and 1.0
        # into 1, which hashing must refuse.
        if not set(map(type, first_of)) <= {str, bytes}:
            return None
        starts = np.flatnonzero(first == np.arange(n))  # first occurrences, in stream order
        rank = np.empty(n, dtype=np.intp)
        rank[starts] = np.arange(starts.shape[0])
        distinct = list(first_of)  # insertion order is the order of starts
        parts = [
            self._cells_many(distinct[i : i + _CHUNK]) for i in range(0, len(distinct), _CHUNK)
        ]
        cells: npt.NDArray[np.intp] = np.concatenate(parts, axis=1)[:, rank[first]]
        return cells

    def _column_sums(
        self, columns: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None
    ) -> npt.NDArray[np.uint64]:
        return column_sums(columns, cnt, self._width, self._depth)

    def _saturating_add(self, sums: npt.NDArray[np.uint64]) -> None:
        saturating_add(self._table, sums, self._max)

    def estimate_many(
        self, keys: npt.ArrayLike | Iterable[Key], *, estimator: Estimator | None = None
    ) -> npt.NDArray[Any]:
        """Return the estimates of ``keys`` as an ``int64`` array (``uint64`` for uint64 counters).

        Equal, key for key, to :meth:`estimate`.

        Complexity: O(n * depth).

        >>> from dskata import CountMinSketch
        >>> cms = CountMinSketch(100, 3)
        >>> cms.add_many(["a", "b", "a"])
        >>> cms.estimate_many(["a", "b", "c"]).tolist()
        [2, 1, 0]
        """
        if estimator is None:
            estimator = self._estimator  # type: ignore[assignment]
        elif estimator != "min":
            check_estimator(estimator)
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "US":
            keys = keys.tolist()
        seq = as_sequence(keys)
        n = len(seq)
        out_dtype = np.uint64 if self._table.dtype == np.uint64 else np.int64
        out = np.empty(n, dtype=out_dtype)
        if n == 0:
            self._cells_many(seq)  # still refuses an array of an unsupported dtype
            return out
        self._flush()
        for i in range(0, n, _CHUNK):
            values = self._table[self._cells_many(seq[i : i + _CHUNK])]  # (depth, chunk)
            low: npt.NDArray[Any] = values.min(axis=0)
            if estimator != "min":
                low = _cms_estimators.count_mean_min(
                    values.T.astype(np.float64), low.astype(np.float64), self._total, self._width
                )
            out[i : i + values.shape[1]] = low
        return out

    # ------------------------------------------------------------------ whole-sketch operations

    def halve(self) -> None:
        """Divide every counter and :attr:`total` by 2, rounding down (aging, as in TinyLFU).

        Every counter was at least the true count ``f`` of each key it holds, so afterwards it is
        at least ``floor(f / 2)``: estimates never fall below the *floored* halved counts. Against
        the exact halved stream (``f / 2``) the guarantee holds only approximately, to within 1
        per halving, and the additive error shrinks with the halved ``total`` only roughly,
        since collisions were halved along with everything else.

        Complexity: O(width * depth).

        >>> from dskata import CountMinSketch
        >>> cms = CountMinSketch(100, 3)
        >>> cms.add("x", 7)
        >>> cms.halve()
        >>> cms["x"], cms.total
        (3, 3)
        """
        with self._lock:
            self._apply_pending()
            np.right_shift(self._table, self._table.dtype.type(1), out=self._table)
        self._total //= 2
        self._rows_exact = False

    def clear(self) -> None:
        """Reset every counter and the total to zero.

        Complexity: O(width * depth).

        >>> from dskata import CountMinSketch
        >>> cms = CountMinSketch(10, 2); cms.add("x"); cms.clear(); cms["x"]
        0
        """
        with self._lock:
            self._pending.clear()
            self._table.fill(0)
        self._total = 0
        self._rows_exact = True

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Assert the structure's invariants (tests call this after mutations)."""
        assert len(self._pending) < _PENDING_LIMIT
        self._flush()
        assert self._table.shape == (self._width * self._depth,)
        assert self._table.dtype in DTYPES
        assert 0 <= self._total < _U64_END
        assert self._view.obj is self._table  # type: ignore[comparison-overlap]
        rows = self._table.reshape(self._depth, self._width)
        sums = [int(s) for s in rows.sum(axis=1, dtype=object)]
        # Each add raises each row by at most its count (conservative: by at most that), halving
        # floors counters (sum of floors <= floor of sum), and merging adds row sums: no row ever
        # holds more than the stream total.
        for s in sums:
            assert s <= self._total, f"row sum {s} > total {self._total}"
        if self._rows_exact and not self._conservative and int(rows.max(initial=0)) < self._max:
            # Plain update, never halved or saturated: every row holds the whole stream once.
            assert all(s == self._total for s in sums), (sums, self._total)
