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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from dskata import serial
from dskata.sketch import _cms_estimators, _cms_serial
from dskata.sketch._cms_args import check_int
from dskata.sketch._cms_core import _MAX_WIDTH, _U64_END, CountMinCore, ErrorBound, Estimator
from dskata.sketch._cms_update import scale_saturating

__all__ = ["CountMinSketch", "ErrorBound"]


class CountMinSketch(CountMinCore):
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

    Thread safety: any number of threads may read at once (estimates, ``table``, ``to_bytes``,
    ``copy``, merging it into another sketch), alongside at most one writer. Reads first apply
    the unit adds that :meth:`add` buffers; they do so under an internal lock and drop adds from
    the buffer only once applied, so a read never applies an add twice nor misses one whose
    ``add`` returned before the read began. Every other change to the counters takes the same
    lock. Several writers must be serialised by the caller (the total is updated without it).

    Complexity: O(width * depth) memory.

    >>> cms = CountMinSketch.from_error(0.01, 0.01)
    >>> cms.add("apple", 3)
    >>> cms.add("pear")
    >>> cms["apple"], cms.estimate("pear"), cms.total
    (3, 1, 4)
    """

    __slots__ = ()

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
        if depth > 64:
            raise ValueError(f"delta must be >= exp(-64) (at most 64 rows), got {delta}")
        return cls(
            max(width, 1),
            max(depth, 1),
            seed=seed,
            conservative=conservative,
            dtype=dtype,
            estimator=estimator,
        )

    # ------------------------------------------------------------------ merging

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

    def merge(self, other: CountMinSketch, weight: int = 1, *, self_weight: int = 1) -> None:
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
        w = check_int("weight", weight, 0)
        sw = check_int("self_weight", self_weight, 0)
        other._flush()
        # Copied before this sketch changes: other may be this very sketch.
        theirs, their_total = other._table.astype(np.uint64), other._total
        with self._lock:
            self._apply_pending()
            if sw != 1:
                scaled = scale_saturating(self._table.astype(np.uint64), sw)
                self._table[:] = np.minimum(scaled, np.uint64(self._max))
                self._total = min(self._total * sw, _U64_END - 1)
            if w == 0:
                return
            self._saturating_add(scale_saturating(theirs, w))
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
        shape = (self._depth, self._width)
        return _cms_estimators.inner_product(
            self._table.reshape(shape), other._table.reshape(shape)
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
        return _cms_serial.encode(self)

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
        return _cms_serial.decode(cls, data)

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
