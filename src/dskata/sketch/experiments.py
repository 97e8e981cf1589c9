"""Accuracy experiments for the sketches: Zipf streams and error against the count-min bound.

``dskata cms accuracy`` prints what :func:`cms_accuracy` returns; the test suite runs the same
function on smaller streams. Everything is seeded, so a run replays exactly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from dskata.sketch.count_min import CountMinSketch
from dskata.sketch.topk import TopK

__all__ = ["AccuracyResult", "cms_accuracy", "topk_recall", "zipf_stream"]


def zipf_stream(items: int, keys: int, s: float, *, seed: int = 0) -> npt.NDArray[np.uint64]:
    """``items`` draws from Zipf(``s``) over ``keys`` keys (key ``r`` has weight ``(r + 1)**-s``).

    Key ids are ``0 .. keys - 1`` as ``uint64``, so key 0 is the most frequent.

    Complexity: O(items log keys).

    >>> zipf_stream(5, 10, 1.1, seed=1).dtype
    dtype('uint64')
    """
    for name, value, low in (("items", items, 0), ("keys", keys, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int >= {low}, got {type(value).__name__}")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}")
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not s >= 0:
        raise ValueError(f"s (the Zipf exponent) must be a float >= 0, got {s!r}")
    weights = np.arange(1, keys + 1, dtype=np.float64) ** -float(s)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    u = np.random.default_rng(seed).random(items)
    ranks = np.searchsorted(cdf, u, side="right")
    return np.minimum(ranks, keys - 1).astype(np.uint64)


@dataclass(frozen=True)
class AccuracyResult:
    """Observed count-min error on one stream, for one update rule.

    Errors are ``estimate - true count`` over every distinct key of the stream.
    """

    rule: str
    width: int
    depth: int
    items: int
    distinct: int
    bound: float
    over_bound: int
    fraction_over_bound: float
    mean_error: float
    max_error: int
    errors: list[int]

    def as_dict(self, *, with_errors: bool = False) -> dict[str, Any]:
        """A JSON-ready dict (the per-key errors only if asked)."""
        out = asdict(self)
        if not with_errors:
            del out["errors"]
        return out


def cms_accuracy(
    *,
    epsilon: float,
    delta: float,
    zipf: float,
    items: int,
    keys: int,
    seed: int = 0,
) -> list[AccuracyResult]:
    """Run a Zipf stream through plain and conservative sketches sized from ``(epsilon, delta)``.

    Complexity: O(items * depth), plus a per-item loop for the conservative rule.

    >>> plain, cons = cms_accuracy(epsilon=0.01, delta=0.01, zipf=1.1, items=2000, keys=500)
    >>> plain.over_bound, cons.mean_error <= plain.mean_error
    (0, True)
    """
    stream = zipf_stream(items, keys, zipf, seed=seed)
    distinct, true = np.unique(stream, return_counts=True)
    out = []
    for rule, conservative in (("plain", False), ("conservative", True)):
        cms = CountMinSketch.from_error(epsilon, delta, seed=seed, conservative=conservative)
        cms.add_many(stream)
        err = cms.estimate_many(distinct).astype(np.int64) - true
        over = int((err > epsilon * items).sum())
        out.append(
            AccuracyResult(
                rule=rule,
                width=cms.width,
                depth=cms.depth,
                items=items,
                distinct=int(distinct.shape[0]),
                bound=float(epsilon * items),
                over_bound=over,
                fraction_over_bound=over / max(1, int(distinct.shape[0])),
                mean_error=float(err.mean()) if err.size else 0.0,
                max_error=int(err.max()) if err.size else 0,
                errors=err.tolist(),
            )
        )
    return out


def topk_recall(*, k: int, n: int, zipf: float, items: int, keys: int, seed: int = 0) -> int:
    """How many of the true top ``n`` keys of a Zipf stream a ``TopK(k)`` reports in its top ``n``.

    Complexity: O(items log items).

    >>> topk_recall(k=64, n=10, zipf=1.1, items=20_000, keys=1_000)
    10
    """
    stream = zipf_stream(items, keys, zipf, seed=seed)
    distinct, true = np.unique(stream, return_counts=True)
    order = np.argsort(-true, kind="stable")[:n]
    truth = set(distinct[order].tolist())
    tk = TopK(k)
    tk.add_many(stream)
    return len(truth & {h.key for h in tk.top(n)})
