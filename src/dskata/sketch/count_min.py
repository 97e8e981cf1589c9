"""Count-min sketch: frequencies of a stream in ``width * depth`` counters, never underestimated.

Theory of operation
-------------------
Cormode and Muthukrishnan (2005) keep ``depth`` rows of ``width`` counters. Row ``r`` has its own
hash ``h_r`` from a pairwise-independent family; adding ``key`` with count ``c`` adds ``c`` to
``C[r, h_r(key)]`` in every row, and the estimate is ``min_r C[r, h_r(key)]``. Every counter a key
touches holds that key's true count plus the counts of the keys colliding with it, so the estimate
is never below the truth. With ``width = ceil(e / eps)`` the expected excess in one row is at most
``N / width = eps * N / e`` (``N`` the stream total), so by Markov the excess exceeds ``eps * N``
with probability at most ``1 / e`` per row, and the minimum over ``depth = ceil(ln(1 / delta))``
independent rows exceeds it with probability at most ``delta`` (paper, Theorem 1).

The rows must collide independently: the double-hashing shortcut ``h1 + r * h2`` that suits Bloom
filters makes two keys that agree on ``(h1, h2) mod width`` collide in every row at once, so the
``delta`` bound is lost. Rows here come from :func:`dskata.hashing.row_hashes`, which mixes the
key's 64-bit hash with a distinct key per row. A row hash ``h`` is reduced to a column by
``((h >> 32) * width) >> 32`` (Lemire's multiply-shift range reduction on the high 32 bits) rather
than ``h % width``: the two are equally uniform up to a relative bias of ``width / 2**32``, and the
multiply-shift runs faster in numpy and can be evaluated for all rows at once on the scalar path.

*Conservative update* (Estan and Varghese 2002) raises each of the key's counters only as far as
needed: ``C[r] = max(C[r], min_r C[r] + c)``. The minimum rises by ``c`` exactly as before, so the
estimate still never underestimates, but collisions inflate counters less. It does not commute:
the result depends on the order of the stream, which is why :meth:`CountMinSketch.add_many` runs
it item by item in stream order (consecutive repeats of a key folded into one add), and why the
sum of two conservative sketches is a valid upper bound but not the conservative sketch of the
concatenated stream.

Counters saturate at the maximum of their dtype instead of wrapping around: a saturated counter
reads "at least this much". Estimates stay upper bounds until some counter saturates.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from dskata import serial
from dskata.hashing import Key, hash64, validate_seed
from dskata.sketch._rows import MAX_WIDTH, RowIndexer, cells_from_hashes, cells_many

__all__ = ["CountMinSketch", "ErrorBound"]

Estimator = Literal["min", "count-mean-min"]

_DTYPES: Final = {
    np.dtype(np.uint8): 1,
    np.dtype(np.uint16): 2,
    np.dtype(np.uint32): 4,
    np.dtype(np.uint64): 8,
}
_ITEMSIZE_TO_DTYPE: Final = {size: dt for dt, size in _DTYPES.items()}
_U64_END: Final = 1 << 64
_MAX_WIDTH: Final = MAX_WIDTH
# Serialised parameter block: width, depth, counter byte size, reserved.
_PARAMS: Final = struct.Struct("<QIB3x")
_FLAG_CONSERVATIVE: Final = 1
_FLAG_COUNT_MEAN_MIN: Final = 2
# Unit adds buffered before a bulk flush; at most this many flushed one by one (below it the numpy
# call overhead outweighs the per-key loop).
_PENDING_LIMIT: Final = 4096
_SCALAR_FLUSH: Final = 24
# Batches of str keys at least this long are checked for repeats, on a sample of _DEDUP_SAMPLE.
_DEDUP_MIN: Final = 8192
_DEDUP_SAMPLE: Final = 4096
# Keys per chunk of the batch paths: 64Ki keys x depth rows of 8 bytes stay in L2 (measured 1.8x
# faster than whole-batch temporaries on 1M keys).
_CHUNK: Final = 65536


def _as_sequence(keys: object) -> Any:
    """``keys`` as something with ``len`` and slices: a 1-D array, a list or a tuple."""
    if isinstance(keys, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"keys must be an iterable or array of keys, not a single {type(keys).__name__}"
        )
    if isinstance(keys, np.ndarray):
        if keys.ndim != 1:
            raise ValueError(f"keys must be a 1-D array, got shape {keys.shape}")
        return keys
    if isinstance(keys, (list, tuple)):
        return keys
    if not isinstance(keys, Iterable):
        raise TypeError(f"keys must be an iterable or array of keys, got {type(keys).__name__}")
    return list(keys)


class ErrorBound(NamedTuple):
    """The count-min guarantee for the current stream: ``(bound, probability)``.

    Every estimate is at least the true count and, with probability at least ``probability``
    (``1 - delta``), at most the true count plus ``bound`` (``epsilon * total``).
    """

    bound: float
    probability: float
    epsilon: float
    delta: float


def _check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        allowed = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")
    v = int(value)
    if v < low or (high is not None and v > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {v}")
    return v


def _check_dtype(dtype: object) -> np.dtype[Any]:
    dt: np.dtype[Any] | None
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        dt = None
    if dt is None or dt not in _DTYPES:
        raise ValueError(f"dtype must be one of uint8, uint16, uint32, uint64, got {dtype!r}")
    return dt


def _check_estimator(estimator: object) -> str:
    if estimator not in ("min", "count-mean-min"):
        raise ValueError(f"estimator must be 'min' or 'count-mean-min', got {estimator!r}")
    return str(estimator)


def _repeats_enough(keys: list[Any]) -> bool:
    """True if a sample of ``keys`` has under half distinct keys (so aggregating first pays)."""
    sample = keys[:_DEDUP_SAMPLE]
    try:
        return len(set(sample)) * 2 < len(sample)
    except TypeError:
        return False


def _scale_saturating(values: npt.NDArray[np.uint64], w: int) -> npt.NDArray[np.uint64]:
    """``values * w``, saturating at ``2**64 - 1`` instead of wrapping."""
    if w == 1:
        return values
    out = np.zeros_like(values)
    if w == 0:
        return out
    big = values > np.uint64((_U64_END - 1) // w)
    if w < _U64_END:
        np.multiply(values, np.uint64(w), out=out)
    out[big] = np.uint64(_U64_END - 1)
    return out


class CountMinSketch:
    """A count-min sketch of ``depth`` independent rows of ``width`` saturating counters.

    Args:
        width: counters per row, in ``[1, 2**32]``: any value, not only powers of two.
        depth: number of rows, in ``[1, 64]`` (``from_error`` gives 5 for ``delta = 0.01``).
        seed: hash seed in ``[0, 2**32)``; sketches merge only with equal seeds. Use a secret
            random seed if keys may be chosen by an adversary.
        conservative: use conservative update (smaller error, order-dependent, see module doc).
        dtype: counter type, ``np.uint8``, ``np.uint16``, ``np.uint32`` (default) or
            ``np.uint64``. Counters saturate at the type's maximum.
        estimator: the default of :meth:`estimate`, :meth:`estimate_many` and ``sk[key]``:
            ``"min"`` (the count-min bound) or ``"count-mean-min"`` (see :meth:`estimate`).

    Keys are ``str``, bytes-like or ``int`` (see :mod:`dskata.hashing`); ``"a"`` and ``b"a"`` are
    the same key. Counts are non-negative integers: deletions (the turnstile model) are not
    supported, since they void the never-underestimate guarantee of the ``min`` estimator.

    Thread safety: not thread-safe, not even for readers only: a read first applies the unit
    adds that :meth:`add` buffers. Guard every call with a lock when threads share a sketch.

    Complexity: O(width * depth) memory.

    >>> cms = CountMinSketch.from_error(0.01, 0.01)
    >>> cms.add("apple", 3)
    >>> cms.add("pear")
    >>> cms["apple"], cms.estimate("pear"), cms.total
    (3, 1, 4)
    """

    __slots__ = (
        "_conservative",
        "_depth",
        "_estimator",
        "_indexer",
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
        width = _check_int("width", width, 1, _MAX_WIDTH)
        depth = _check_int("depth", depth, 1, 64)
        seed = validate_seed(seed)
        if not isinstance(conservative, (bool, np.bool_)):
            raise TypeError(f"conservative must be a bool, got {type(conservative).__name__}")
        dt = _check_dtype(dtype)
        self._estimator = _check_estimator(estimator)
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
        self._indexer = RowIndexer(width, depth, seed)

    @classmethod
    def from_error(
        cls,
        epsilon: float,
        delta: float,
        *,
        seed: int = 0,
        conservative: bool = False,
        dtype: npt.DTypeLike = np.uint32,
        estimator: Estimator = "min",
    ) -> CountMinSketch:
        """Size a sketch so that, with probability ``1 - delta``, no estimate exceeds truth + eps*N.

        ``width = ceil(e / epsilon)`` and ``depth = ceil(ln(1 / delta))`` (Cormode and
        Muthukrishnan 2005, Theorem 1).

        Complexity: O(e / epsilon * ln(1 / delta)) memory.

        >>> cms = CountMinSketch.from_error(0.001, 0.01)
        >>> cms.width, cms.depth
        (2719, 5)
        """
        for name, value in (("epsilon", epsilon), ("delta", delta)):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
                raise TypeError(f"{name} must be a float in (0, 1), got {type(value).__name__}")
            if not 0.0 < float(value) < 1.0:
                raise ValueError(f"{name} must be in (0, 1) exclusive, got {value}")
        width = math.ceil(math.e / float(epsilon))
        depth = math.ceil(math.log(1.0 / float(delta)))
        if width > _MAX_WIDTH:
            raise ValueError(f"epsilon must be >= e / 2**32, got {epsilon}")
        return cls(
            max(width, 1),
            max(depth, 1),
            seed=seed,
            conservative=conservative,
            dtype=dtype,
            estimator=estimator,
        )

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

        >>> cms = CountMinSketch(272, 5)
        >>> cms.add_many(["a"] * 1000)
        >>> bound, probability, *_ = cms.error_bound()
        >>> round(bound, 3), round(probability, 4)
        (9.994, 0.9933)
        """
        eps = self.epsilon
        delta = self.delta
        return ErrorBound(bound=eps * self._total, probability=1 - delta, epsilon=eps, delta=delta)

    # ------------------------------------------------------------------ scalar path

    def _check_count(self, count: object) -> int:
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
            raise TypeError(f"count must be a non-negative int, got {type(count).__name__}")
        c = int(count)
        if c < 0:
            raise ValueError(
                f"count must be >= 0, got {c}: count-min sketches do not support deletions"
            )
        return c

    def add(self, key: Key, count: int = 1) -> None:
        """Add ``count`` occurrences of ``key``.

        Args:
            key: ``str``, bytes-like or ``int``.
            count: a non-negative int.

        Raises:
            TypeError: ``key`` or ``count`` has an unsupported type (nothing changes).
            ValueError: ``count`` is negative (nothing changes).

        Complexity: O(depth + len(key)).

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
        count = self._check_count(count)
        base = hash64(key, self._seed)
        if self._pending:
            self._flush()
        self._add_cells(self._indexer(base), count)
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
        """Apply the buffered unit adds, in order."""
        pending = self._pending
        if not pending:
            return
        if len(pending) <= _SCALAR_FLUSH:
            indexer = self._indexer
            for base in pending:
                self._add_cells(indexer(base), 1)
        else:
            cells = self._cells_from_hashes(np.array(pending, dtype=np.uint64))
            if self._conservative:
                self._add_conservative(cells, None)
            else:
                self._add_plain(cells, None)
        pending.clear()

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

        >>> cms = CountMinSketch(50, 3)
        >>> cms.estimate("never added")
        0
        """
        if estimator is None:
            estimator = self._estimator  # type: ignore[assignment]
        elif estimator != "min":
            _check_estimator(estimator)
        cells = self._indexer(hash64(key, self._seed))
        if self._pending:
            self._flush()
        view = self._view
        values = [view[j] for j in cells]
        low = min(values)
        if estimator == "min":
            return low
        return int(self._count_mean_min(np.array([values], dtype=np.float64), low)[0])

    def __getitem__(self, key: Key) -> int:
        """``sk[key]`` is :meth:`estimate` with the sketch's default estimator."""
        return self.estimate(key)

    def _count_mean_min(self, values: npt.NDArray[np.float64], low: Any) -> npt.NDArray[np.int64]:
        # values: (n, depth) counters as float; low: (n,) min estimates.
        low_arr = np.asarray(low, dtype=np.float64)
        if self._width == 1:
            return low_arr.astype(np.int64)
        noise = (float(self._total) - values) / (self._width - 1)
        med = np.median(values - noise, axis=1)
        est = np.clip(np.rint(med), 0.0, low_arr)
        return est.astype(np.int64)

    # ------------------------------------------------------------------ batch path

    def _cells_many(self, keys: npt.ArrayLike | Iterable[Key]) -> npt.NDArray[np.intp]:
        return cells_many(keys, self._width, self._depth, self._seed)

    def _columns_many(self, keys: npt.ArrayLike | Iterable[Key]) -> npt.NDArray[np.intp]:
        return cells_many(keys, self._width, self._depth, self._seed, offsets=False)

    def _cells_from_hashes(self, bases: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
        return cells_from_hashes(bases, self._width, self._depth, self._seed)

    def _check_counts(self, counts: object, n: int) -> npt.NDArray[np.uint64] | None:
        if counts is None:
            return None
        if isinstance(counts, (str, bytes)):
            raise TypeError(
                f"counts must be an array of non-negative ints, got {type(counts).__name__}"
            )
        arr = np.asarray(counts)
        if arr.size == 0 and arr.dtype.kind == "f":
            arr = arr.astype(np.uint64)  # np.asarray([]) is float64
        if arr.dtype == object:
            try:
                arr = np.array([self._check_count(c) for c in arr.ravel()], dtype=np.uint64)
            except OverflowError:
                raise ValueError("counts must be < 2**64") from None
        if arr.dtype.kind not in "iu":
            raise TypeError(f"counts must hold integers, got dtype {arr.dtype}")
        if arr.ndim != 1 or arr.shape[0] != n:
            raise ValueError(
                f"counts must be a 1-D array of {n} ints (one per key), got shape {arr.shape}"
            )
        if arr.dtype.kind == "i" and n and int(arr.min()) < 0:
            raise ValueError(
                f"counts must be >= 0, got {int(arr.min())}: "
                "count-min sketches do not support deletions"
            )
        return arr.astype(np.uint64, copy=False)

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
        >>> cms = CountMinSketch(100, 3)
        >>> cms.add_many(np.array([1, 2, 2], dtype=np.uint64), counts=[5, 1, 1])
        >>> cms[1], cms[2], cms.total
        (5, 2, 7)
        """
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "US":
            keys = keys.tolist()  # the str/bytes path hashes Python objects anyway
        seq = _as_sequence(keys)
        n = len(seq)
        cnt = self._check_counts(counts, n)
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
            chunks = [self._cells_many(seq[i : i + _CHUNK]) for i in range(0, n, _CHUNK)]
            cells = np.concatenate(chunks, axis=1)
            self._flush()
            if self._conservative:
                self._add_conservative(cells, cnt)
            else:
                self._add_cells_loop(cells, cnt)
        else:
            # Chunks keep every temporary in cache; sums go to a scratch array, so a bad key
            # in a late chunk raises before the table changes.
            sums = np.zeros(self._table.shape[0], dtype=np.uint64)
            for i in range(0, n, _CHUNK):
                part = None if cnt is None else cnt[i : i + _CHUNK]
                sums += self._column_sums(self._columns_many(seq[i : i + _CHUNK]), part)
            self._flush()
            self._saturating_add(sums)
        t = self._total + batch_total
        self._total = t if t < _U64_END else _U64_END - 1

    def _add_distinct(self, keys: list[Any]) -> bool:
        """Plain-add a long, skewed list of str/bytes keys by hashing each distinct key once.

        Plain update commutes, so the counters come out the same; Python caches str hashes, so
        counting distinct keys costs a fraction of MurmurHash3 on every key. Returns False (and
        changes nothing) when the batch does not qualify.
        """
        if len(keys) < _DEDUP_MIN or not _repeats_enough(keys):
            return False
        try:
            agg = Counter(keys)
        except TypeError:  # an unhashable key (bytearray): take the general path
            return False
        # Only if every distinct key is exactly str or bytes: Counter folds True into 1 and 1.0
        # into 1, which hashing must refuse.
        if not all(type(k) is str or type(k) is bytes for k in agg):
            return False
        distinct = list(agg)
        cnt = np.fromiter(agg.values(), dtype=np.uint64, count=len(agg))
        sums = np.zeros(self._table.shape[0], dtype=np.uint64)
        for i in range(0, len(distinct), _CHUNK):
            part = cnt[i : i + _CHUNK]
            sums += self._column_sums(self._columns_many(distinct[i : i + _CHUNK]), part)
        self._flush()
        self._saturating_add(sums)
        t = self._total + len(keys)
        self._total = t if t < _U64_END else _U64_END - 1
        return True

    def _cell_sums(
        self, cells: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None
    ) -> npt.NDArray[np.uint64]:
        """How much each counter receives from these cells (exact, in uint64)."""
        size = self._table.shape[0]
        flat = cells.ravel()
        if cnt is None:
            return np.bincount(flat, minlength=size).astype(np.uint64)
        if float(cnt.max(initial=0)) * cnt.shape[0] < 2.0**53:
            # float64 weights are exact below 2**53, and bincount is much faster than add.at.
            weighted = np.bincount(flat, weights=np.tile(cnt, self._depth), minlength=size)
            return weighted.astype(np.uint64)
        sums = np.zeros(size, dtype=np.uint64)
        np.add.at(sums, flat, np.tile(cnt, self._depth))
        return sums

    def _column_sums(
        self, columns: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None
    ) -> npt.NDArray[np.uint64]:
        """Like :meth:`_cell_sums` from ``(depth, n)`` columns: one ``bincount`` per row, which
        measured 10% faster than adding row offsets and counting the flat array."""
        width = self._width
        out = np.empty(self._table.shape[0], dtype=np.uint64)
        exact_weights = cnt is not None and float(cnt.max(initial=0)) * cnt.shape[0] < 2.0**53
        for r in range(self._depth):
            row = out[r * width : (r + 1) * width]
            if cnt is None:
                row[:] = np.bincount(columns[r], minlength=width)
            elif exact_weights:
                # float64 weights are exact below 2**53, and bincount beats add.at by far.
                row[:] = np.bincount(columns[r], weights=cnt, minlength=width)
            else:
                row[:] = 0
                np.add.at(row, columns[r], cnt)
        return out

    def _add_plain(self, cells: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None) -> None:
        self._saturating_add(self._cell_sums(cells, cnt))

    def _saturating_add(self, sums: npt.NDArray[np.uint64]) -> None:
        table = self._table
        room = np.uint64(self._max) - table.astype(np.uint64)
        over = sums > room
        if over.any():
            np.add(table, sums.astype(table.dtype, casting="unsafe"), out=table, casting="unsafe")
            table[over] = self._max
        else:
            np.add(table, sums.astype(table.dtype, casting="unsafe"), out=table, casting="unsafe")

    def _add_cells_loop(
        self, cells: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None
    ) -> None:
        view = self._view
        top = self._max
        counts = [1] * cells.shape[1] if cnt is None else cnt.tolist()
        for row, c in zip(np.ascontiguousarray(cells.T).tolist(), counts, strict=True):
            for j in row:
                v = view[j] + c
                view[j] = v if v <= top else top

    def _add_conservative(
        self, cells: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None
    ) -> None:
        n = cells.shape[1]
        # Fold runs of the same key: c consecutive conservative adds of one key equal one add of
        # c (the minimum rises by c and every cell ends at max(cell, min + c)).
        if n > 1:
            starts = np.flatnonzero(
                np.concatenate(([True], (cells[:, 1:] != cells[:, :-1]).any(axis=0)))
            )
            if starts.shape[0] < n:
                weights = np.ones(n, dtype=np.uint64) if cnt is None else cnt
                cnt = np.add.reduceat(weights, starts)
                cells = cells[:, starts]
        n = cells.shape[1]
        rows = np.ascontiguousarray(cells.T)
        table = self._table
        top = self._max
        # The loop runs on a Python list of the counters it touches: list indexing is the
        # cheapest item access Python has. Small tables are copied whole; large ones compacted to
        # the touched cells (np.unique), so the cost follows the batch, not the table.
        if table.shape[0] <= 4 * rows.size:
            touched = None
            vals: list[int] = table.tolist()
            local = rows.tolist()
        else:
            touched, inverse = np.unique(rows, return_inverse=True)
            vals = table[touched].tolist()
            local = inverse.reshape(rows.shape).tolist()
        get = vals.__getitem__
        batch_total = n if cnt is None else int(cnt.sum(dtype=object))
        if cnt is None and self._total + batch_total <= top:
            # Unit counts that cannot reach the counter maximum: the common, fastest case.
            for row in local:
                target = min(map(get, row)) + 1
                for j in row:
                    if vals[j] < target:
                        vals[j] = target
        else:
            counts = [1] * n if cnt is None else cnt.tolist()
            for row, c in zip(local, counts, strict=True):
                target = min(map(get, row)) + c
                if target > top:
                    target = top
                for j in row:
                    if vals[j] < target:
                        vals[j] = target
        if touched is None:
            table[:] = vals
        else:
            table[touched] = vals

    def estimate_many(
        self, keys: npt.ArrayLike | Iterable[Key], *, estimator: Estimator | None = None
    ) -> npt.NDArray[Any]:
        """Return the estimates of ``keys`` as an ``int64`` array (``uint64`` for uint64 counters).

        Equal, key for key, to :meth:`estimate`.

        Complexity: O(n * depth).

        >>> cms = CountMinSketch(100, 3)
        >>> cms.add_many(["a", "b", "a"])
        >>> cms.estimate_many(["a", "b", "c"]).tolist()
        [2, 1, 0]
        """
        if estimator is None:
            estimator = self._estimator  # type: ignore[assignment]
        elif estimator != "min":
            _check_estimator(estimator)
        if isinstance(keys, np.ndarray) and keys.dtype.kind in "US":
            keys = keys.tolist()
        seq = _as_sequence(keys)
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
                low = self._count_mean_min(values.T.astype(np.float64), low.astype(np.float64))
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

        >>> cms = CountMinSketch(100, 3)
        >>> cms.add("x", 7)
        >>> cms.halve()
        >>> cms["x"], cms.total
        (3, 3)
        """
        self._flush()
        np.right_shift(self._table, self._table.dtype.type(1), out=self._table)
        self._total //= 2
        self._rows_exact = False

    def clear(self) -> None:
        """Reset every counter and the total to zero.

        Complexity: O(width * depth).

        >>> cms = CountMinSketch(10, 2); cms.add("x"); cms.clear(); cms["x"]
        0
        """
        self._pending.clear()
        self._table.fill(0)
        self._total = 0
        self._rows_exact = True

    def _check_compatible(self, other: object, what: str) -> CountMinSketch:
        if not isinstance(other, CountMinSketch):
            raise TypeError(f"{what} needs a CountMinSketch, got {type(other).__name__}")
        for name in ("width", "depth", "seed"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine != theirs:
                raise ValueError(
                    f"cannot {what} sketches with different {name}: {mine} != {theirs} "
                    "(width, depth and seed must match)"
                )
        return other

    def merge(self, other: CountMinSketch, *, weight: int = 1, self_weight: int = 1) -> None:
        """Make this sketch ``self_weight * self + weight * other``, in place.

        For plain sketches the result equals, bit for bit, the sketch of ``self_weight`` copies
        of this stream followed by ``weight`` copies of the other's (count-min is linear).
        Conservative sketches merge to a valid upper bound, but a looser one than the conservative
        sketch of the concatenated stream, because conservative update does not commute.
        Counters saturate.

        Args:
            other: a sketch with the same width, depth and seed (dtype may differ).
            weight: a non-negative int multiplier for ``other``.
            self_weight: a non-negative int multiplier for this sketch.

        Raises:
            TypeError, ValueError: mismatched sketch or bad weight (nothing changes).

        Complexity: O(width * depth).

        >>> a, b = CountMinSketch(64, 3), CountMinSketch(64, 3)
        >>> a.add("x"); b.add("x", 2)
        >>> a.merge(b, weight=2)
        >>> a["x"], a.total
        (5, 5)
        """
        other = self._check_compatible(other, "merge")
        w = _check_int("weight", weight, 0)
        sw = _check_int("self_weight", self_weight, 0)
        self._flush()
        other._flush()
        # Copied before this sketch changes: other may be this very sketch.
        theirs, their_total = other._table.astype(np.uint64), other._total
        if sw != 1:
            scaled = _scale_saturating(self._table.astype(np.uint64), sw)
            self._table[:] = np.minimum(scaled, np.uint64(self._max))
            self._total = min(self._total * sw, _U64_END - 1)
        if w == 0:
            return
        self._saturating_add(_scale_saturating(theirs, w))
        self._rows_exact = self._rows_exact and other._rows_exact and not other._conservative
        t = self._total + w * their_total
        self._total = t if t < _U64_END else _U64_END - 1

    def __add__(self, other: object) -> CountMinSketch:
        """``a + b``: a new sketch, the merge of ``a`` and ``b`` (see :meth:`merge`)."""
        if not isinstance(other, CountMinSketch):
            return NotImplemented
        out = self.copy()
        out.merge(other)
        return out

    def __iadd__(self, other: object) -> CountMinSketch:
        if not isinstance(other, CountMinSketch):
            return NotImplemented
        self.merge(other)
        return self

    def inner_product(self, other: CountMinSketch) -> int:
        """Estimate ``sum_x f(x) * g(x)`` of two streams: the minimum over rows of row dot products.

        Never below the true inner product; with the sketch sized from ``(eps, delta)`` the excess
        is at most ``eps * N_f * N_g`` with probability ``1 - delta`` (Cormode and Muthukrishnan
        2005, Theorem 3). With ``other`` this sketch itself, it estimates the second frequency
        moment (self-join size).

        Complexity: O(width * depth).

        >>> a, b = CountMinSketch(1000, 4), CountMinSketch(1000, 4)
        >>> a.add("x", 3); b.add("x", 2); b.add("y", 5)
        >>> a.inner_product(b)
        6
        """
        other = self._check_compatible(other, "take the inner product of")
        self._flush()
        other._flush()
        a = self._table.reshape(self._depth, self._width)
        b = other._table.reshape(self._depth, self._width)
        amax = int(a.max()) if a.size else 0
        bmax = int(b.max()) if b.size else 0
        if amax * bmax * self._width < _U64_END:
            dots = (a.astype(np.uint64) * b.astype(np.uint64)).sum(axis=1, dtype=np.uint64)
            return int(dots.min())
        # Python ints cannot overflow; only reached with huge counters.
        return min(
            sum(int(x) * int(y) for x, y in zip(a[r].tolist(), b[r].tolist(), strict=True))
            for r in range(self._depth)
        )

    def copy(self) -> CountMinSketch:
        """An independent copy.

        Complexity: O(width * depth).

        >>> a = CountMinSketch(10, 2); b = a.copy(); b.add("x"); a["x"]
        0
        """
        self._flush()
        out = CountMinSketch(
            self._width,
            self._depth,
            seed=self._seed,
            conservative=self._conservative,
            dtype=self._table.dtype,
            estimator=self._estimator,  # type: ignore[arg-type]
        )
        out._table[:] = self._table
        out._total = self._total
        out._rows_exact = self._rows_exact
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CountMinSketch):
            return NotImplemented
        self._flush()
        other._flush()
        return (
            self._width == other._width
            and self._depth == other._depth
            and self._seed == other._seed
            and self._conservative == other._conservative
            and self._estimator == other._estimator
            and self._table.dtype == other._table.dtype
            and self._total == other._total
            and bool(np.array_equal(self._table, other._table))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"CountMinSketch(width={self._width}, depth={self._depth}, seed={self._seed}, "
            f"conservative={self._conservative}, dtype={self._table.dtype.name}, "
            f"estimator={self._estimator!r}, total={self._total})"
        )

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("a CountMinSketch does not store its keys and cannot be iterated")

    # ------------------------------------------------------------------ serialisation

    def to_bytes(self) -> bytes:
        """Serialise to the shared dskata envelope (:mod:`dskata.serial`), little-endian.

        Complexity: O(width * depth).

        >>> cms = CountMinSketch(10, 2); cms.add("x")
        >>> CountMinSketch.from_bytes(cms.to_bytes()) == cms
        True
        """
        self._flush()
        itemsize = _DTYPES[self._table.dtype]
        params = _PARAMS.pack(self._width, self._depth, itemsize)
        payload = self._table.astype(f"<u{itemsize}", copy=False).tobytes()
        flags = (_FLAG_CONSERVATIVE if self._conservative else 0) | (
            _FLAG_COUNT_MEAN_MIN if self._estimator == "count-mean-min" else 0
        )
        return serial.pack(
            serial.KIND_COUNT_MIN,
            seed=self._seed,
            count=self._total,
            params=params,
            payload=payload,
            flags=flags,
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> CountMinSketch:
        """Rebuild a sketch from :meth:`to_bytes`; :class:`ValueError` on anything malformed.

        The payload length is checked against the parameters before anything is allocated.

        Complexity: O(width * depth).

        >>> CountMinSketch.from_bytes(b"junk")
        Traceback (most recent call last):
        ...
        ValueError: truncated input: 4 bytes is shorter than any CountMinSketch
        """
        frame = serial.unpack(data, serial.KIND_COUNT_MIN, params_size=_PARAMS.size)
        width, depth, itemsize = _PARAMS.unpack(frame.params)
        if itemsize not in _ITEMSIZE_TO_DTYPE:
            raise ValueError(
                f"corrupt parameters: counter size {itemsize} bytes is not 1, 2, 4 or 8"
            )
        if not 1 <= width <= _MAX_WIDTH or not 1 <= depth <= 64:
            raise ValueError(f"corrupt parameters: width={width}, depth={depth}")
        if frame.flags & ~(_FLAG_CONSERVATIVE | _FLAG_COUNT_MEAN_MIN):
            raise ValueError(f"corrupt header: unknown flags {frame.flags:#x}")
        expected = width * depth * itemsize
        if len(frame.payload) != expected:
            raise ValueError(
                f"corrupt payload: {len(frame.payload)} bytes, expected {expected} "
                f"for width={width}, depth={depth}"
            )
        dt = _ITEMSIZE_TO_DTYPE[itemsize]
        out = cls(
            width,
            depth,
            seed=frame.seed,
            conservative=bool(frame.flags & _FLAG_CONSERVATIVE),
            estimator="count-mean-min" if frame.flags & _FLAG_COUNT_MEAN_MIN else "min",
            dtype=dt,  # type: ignore[arg-type]
        )
        counters = np.frombuffer(frame.payload, dtype=f"<u{itemsize}")
        if counters.size and int(counters.max()) > frame.count:
            raise ValueError("corrupt payload: a counter exceeds the stream total")
        out._table[:] = counters
        out._total = frame.count
        out._rows_exact = False
        return out

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_bytes` to ``path`` atomically.

        Complexity: O(width * depth).
        """
        serial.write_file(path, self.to_bytes())

    @classmethod
    def load(cls, path: str | Path) -> CountMinSketch:
        """Read a sketch written by :meth:`save`.

        Complexity: O(width * depth).
        """
        return cls.from_bytes(serial.read_file(path))

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (type(self).from_bytes, (self.to_bytes(),))

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Assert the structure's invariants (tests call this after mutations)."""
        assert len(self._pending) < _PENDING_LIMIT
        self._flush()
        assert self._table.shape == (self._width * self._depth,)
        assert self._table.dtype in _DTYPES
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
