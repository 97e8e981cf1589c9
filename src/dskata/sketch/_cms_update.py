"""Count-min update rules over a flat, row-major counter table: plain (linear) and conservative.

The table is one 1-D array of ``depth * width`` unsigned counters; a key's cells are its
``depth`` flat offsets, one per row (:mod:`dskata.sketch._rows`). Counters saturate at the
dtype's maximum instead of wrapping.

* **Plain update** is linear, so a batch reduces to how much each counter receives
  (:func:`column_sums`, one ``bincount`` per row) followed by one saturating add.
* **Conservative update** (Estan and Varghese 2002) raises each of the key's cells to
  ``max(cell, min(cells) + c)``. It does not commute, so a batch runs item by item in stream
  order (:func:`add_conservative`), on a Python list of the counters (list indexing is the
  cheapest item access Python has), with consecutive repeats of a key folded into one add.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "U64_END",
    "add_cells_loop",
    "add_conservative",
    "cell_sums",
    "column_sums",
    "saturating_add",
    "scale_saturating",
]

U64_END: Final = 1 << 64


def scale_saturating(values: npt.NDArray[np.uint64], w: int) -> npt.NDArray[np.uint64]:
    """``values * w``, saturating at ``2**64 - 1`` instead of wrapping."""
    if w == 1:
        return values
    out = np.zeros_like(values)
    if w == 0:
        return out
    big = values > np.uint64((U64_END - 1) // w)
    if w < U64_END:
        np.multiply(values, np.uint64(w), out=out)
    out[big] = np.uint64(U64_END - 1)
    return out


def saturating_add(table: npt.NDArray[Any], sums: npt.NDArray[np.uint64], top: int) -> None:
    """``table += sums`` in place, each counter capped at ``top`` (the dtype's maximum)."""
    room = np.uint64(top) - table.astype(np.uint64)
    over = sums > room
    np.add(table, sums.astype(table.dtype, casting="unsafe"), out=table, casting="unsafe")
    if over.any():
        table[over] = top


def cell_sums(
    cells: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None, size: int, depth: int
) -> npt.NDArray[np.uint64]:
    """How much each of ``size`` counters receives from ``(depth, n)`` flat cells (exact)."""
    flat = cells.ravel()
    if cnt is None:
        return np.bincount(flat, minlength=size).astype(np.uint64)
    if float(cnt.max(initial=0)) * cnt.shape[0] < 2.0**53:
        # float64 weights are exact below 2**53, and bincount is much faster than add.at.
        weighted = np.bincount(flat, weights=np.tile(cnt, depth), minlength=size)
        return weighted.astype(np.uint64)
    sums = np.zeros(size, dtype=np.uint64)
    np.add.at(sums, flat, np.tile(cnt, depth))
    return sums


def column_sums(
    columns: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None, width: int, depth: int
) -> npt.NDArray[np.uint64]:
    """Like :func:`cell_sums` from ``(depth, n)`` columns: one ``bincount`` per row, which
    measured 10% faster than adding row offsets and counting the flat array."""
    out = np.empty(width * depth, dtype=np.uint64)
    exact_weights = cnt is not None and float(cnt.max(initial=0)) * cnt.shape[0] < 2.0**53
    for r in range(depth):
        row = out[r * width : (r + 1) * width]
        if cnt is None:
            row[:] = np.bincount(columns[r], minlength=width)
        elif exact_weights:
            row[:] = np.bincount(columns[r], weights=cnt, minlength=width)
        else:
            row[:] = 0
            np.add.at(row, columns[r], cnt)
    return out


def add_cells_loop(
    view: Any, cells: npt.NDArray[np.intp], cnt: npt.NDArray[np.uint64] | None, top: int
) -> None:
    """Plain update item by item with saturation (used where uint64 sums could wrap)."""
    counts = [1] * cells.shape[1] if cnt is None else cnt.tolist()
    for row, c in zip(np.ascontiguousarray(cells.T).tolist(), counts, strict=True):
        for j in row:
            v = view[j] + c
            view[j] = v if v <= top else top


_Kernel = Callable[[list[int], Iterator[tuple[int, ...]], "list[int] | None", int], None]
_KERNELS: dict[tuple[int, bool], _Kernel] = {}


def _kernel(depth: int, unit: bool) -> _Kernel:
    """The conservative-update loop unrolled over ``depth`` rows (generated once per depth).

    Unrolling keeps every counter in a local and replaces ``min(map(...))`` and the inner loop by
    compares, which measured 2x faster than the generic loop at depth 5; it runs the same rule.
    """
    key = (depth, unit)
    if key not in _KERNELS:
        js = [f"j{r}" for r in range(depth)]
        vs = [f"v{r}" for r in range(depth)]
        head = (
            f"for ({', '.join(js)},) in cells:"
            if unit
            else (f"for ({', '.join(js)},), c in zip(cells, counts):")
        )
        body = [f"{v} = vals[{j}]" for j, v in zip(js, vs, strict=True)]
        body.append(f"t = {vs[0]}")
        body += [f"if {v} < t: t = {v}" for v in vs[1:]]
        body += ["t += 1"] if unit else ["t += c", "if t > top: t = top"]
        body += [f"if {v} < t: vals[{j}] = t" for j, v in zip(js, vs, strict=True)]
        src = "def kernel(vals, cells, counts, top):\n    " + head + "\n"
        src += "".join(f"        {line}\n" for line in body)
        namespace: dict[str, Any] = {}
        exec(src, namespace)
        _KERNELS[key] = namespace["kernel"]
    return _KERNELS[key]


def add_conservative(
    table: npt.NDArray[Any],
    cells: npt.NDArray[np.intp],
    cnt: npt.NDArray[np.uint64] | None,
    top: int,
) -> None:
    """Conservative update of ``(depth, n)`` cells in stream order, exactly as ``n`` scalar adds."""
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
    # Small tables are copied whole; large ones compacted to the touched cells (np.unique), so
    # the cost follows the batch, not the table.
    touched: npt.NDArray[np.intp] | None
    if table.shape[0] <= 4 * rows.size:
        touched = None
        vals: list[int] = table.tolist()
        flat: list[int] = rows.reshape(-1).tolist()
    else:
        touched, inverse = np.unique(rows, return_inverse=True)
        vals = table[touched].tolist()
        flat = inverse.reshape(-1).tolist()
    depth = rows.shape[1]
    # One tuple per item, built as the loop goes: no list of lists is ever held.
    cells_iter = zip(*[iter(flat)] * depth, strict=False)
    if cnt is None and max(vals, default=0) + n <= top:
        # Unit counts that cannot reach the counter maximum: the common, fastest case.
        _kernel(depth, True)(vals, cells_iter, None, top)
    else:
        counts = [1] * n if cnt is None else cnt.tolist()
        _kernel(depth, False)(vals, cells_iter, counts, top)
    if touched is None:
        table[:] = vals
    else:
        table[touched] = vals
