"""Count-min estimators beyond the per-key minimum: count-mean-min and the inner product.

* **Count-mean-min** (Deng and Rafiei 2007): each row's counter minus that row's expected noise
  ``(N - C) / (width - 1)``, the median over rows, capped by the min estimate and floored at 0.
* **Inner product** (Cormode and Muthukrishnan 2005, Theorem 3): the minimum over rows of the
  row dot products of two sketches with the same hashes; never below the true inner product.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = ["count_mean_min", "inner_product"]

_U64_END: Final = 1 << 64


def count_mean_min(
    values: npt.NDArray[np.float64], low: Any, total: int, width: int
) -> npt.NDArray[np.int64]:
    """Count-mean-min estimates from ``(n, depth)`` counters (as float) and ``(n,)`` minima."""
    low_arr = np.asarray(low, dtype=np.float64)
    if width == 1:
        return low_arr.astype(np.int64)
    noise = (float(total) - values) / (width - 1)
    med = np.median(values - noise, axis=1)
    est = np.clip(np.rint(med), 0.0, low_arr)
    return est.astype(np.int64)


def inner_product(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> int:
    """Minimum over rows of the dot products of two ``(depth, width)`` tables, exactly."""
    width = a.shape[1]
    amax = int(a.max()) if a.size else 0
    bmax = int(b.max()) if b.size else 0
    if amax * bmax * width < _U64_END:
        dots = (a.astype(np.uint64) * b.astype(np.uint64)).sum(axis=1, dtype=np.uint64)
        return int(dots.min())
    # Python ints cannot overflow; only reached with huge counters.
    return min(
        sum(int(x) * int(y) for x, y in zip(a[r].tolist(), b[r].tolist(), strict=True))
        for r in range(a.shape[0])
    )
