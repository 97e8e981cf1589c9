"""Argument checking for :class:`dskata.sketch.CountMinSketch`: every check raises before any
state changes, with the parameter's name, the value and what is allowed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DTYPES",
    "ITEMSIZE_TO_DTYPE",
    "as_sequence",
    "check_count",
    "check_counts",
    "check_dtype",
    "check_estimator",
    "check_int",
    "repeats_enough",
]

#: Supported counter dtypes and their byte sizes.
DTYPES: Final[dict[np.dtype[Any], int]] = {
    np.dtype(np.uint8): 1,
    np.dtype(np.uint16): 2,
    np.dtype(np.uint32): 4,
    np.dtype(np.uint64): 8,
}
ITEMSIZE_TO_DTYPE: Final[dict[int, np.dtype[Any]]] = {size: dt for dt, size in DTYPES.items()}
# Repeat detection samples this many keys of a batch.
_DEDUP_SAMPLE: Final = 4096


def as_sequence(keys: object) -> Any:
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


def check_int(name: str, value: object, low: int, high: int | None = None) -> int:
    """``value`` as an int in ``[low, high]``; bool is refused."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        allowed = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")
    v = int(value)
    if v < low or (high is not None and v > high):
        allowed = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be {allowed}, got {v}")
    return v


def check_dtype(dtype: object) -> np.dtype[Any]:
    """``dtype`` as one of the supported unsigned counter dtypes."""
    dt: np.dtype[Any] | None
    try:
        dt = np.dtype(dtype)  # type: ignore[call-overload]
    except TypeError:
        dt = None
    if dt is None or dt not in DTYPES:
        raise ValueError(f"dtype must be one of uint8, uint16, uint32, uint64, got {dtype!r}")
    return dt


def check_estimator(estimator: object) -> str:
    """``estimator`` as ``"min"`` or ``"count-mean-min"``."""
    if estimator not in ("min", "count-mean-min"):
        raise ValueError(f"estimator must be 'min' or 'count-mean-min', got {estimator!r}")
    return str(estimator)


def check_count(count: object) -> int:
    """``count`` as a non-negative int (deletions are not supported)."""
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)):
        raise TypeError(f"count must be a non-negative int, got {type(count).__name__}")
    c = int(count)
    if c < 0:
        raise ValueError(
            f"count must be >= 0, got {c}: count-min sketches do not support deletions"
        )
    return c


def check_counts(counts: object, n: int) -> npt.NDArray[np.uint64] | None:
    """``counts`` (one non-negative int per key, or None) as a ``uint64`` array."""
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
            arr = np.array([check_count(c) for c in arr.ravel()], dtype=np.uint64)
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


def repeats_enough(keys: list[Any]) -> bool:
    """True if a sample of ``keys`` has under half distinct keys (so aggregating first pays)."""
    sample = keys[:_DEDUP_SAMPLE]
    try:
        return len(set(sample)) * 2 < len(sample)
    except TypeError:
        return False
