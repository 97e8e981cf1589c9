"""Shared pieces of the cache family: the statistics tuple and argument validation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final, NamedTuple

__all__ = ["MISSING", "CacheInfo", "check_callable", "check_maxsize", "check_size"]

#: Sentinel for "no value", distinct from every value a user can store (including ``None``).
MISSING: Final[Any] = object()


class CacheInfo(NamedTuple):
    """Statistics of a dskata cache, returned by ``info()``.

    Attributes:
        hits: lookups (``cache[key]``, ``get``, ``setdefault``) that found the key.
        misses: lookups that did not.
        evictions: entries the policy removed to make room (or that expired, for ``TTLCache``);
            explicit ``del``, ``pop``, ``popitem`` and ``clear`` are not evictions.
        maxsize: the capacity, in the units of ``getsizeof`` (entries by default).
        currsize: the current total size.
    """

    hits: int
    misses: int
    evictions: int
    maxsize: int
    currsize: float


def check_maxsize(maxsize: object, name: str = "maxsize") -> int:
    """Return ``maxsize`` if it is an int >= 0, else raise naming the parameter."""
    if isinstance(maxsize, bool) or not isinstance(maxsize, int):
        raise TypeError(f"{name} must be an int >= 0, got {type(maxsize).__name__} {maxsize!r}")
    if maxsize < 0:
        raise ValueError(f"{name} must be an int >= 0, got {maxsize}")
    return maxsize


def check_callable(value: object, name: str) -> Callable[..., Any] | None:
    """Return ``value`` if it is None or callable, else raise :class:`TypeError`."""
    if value is not None and not callable(value):
        raise TypeError(f"{name} must be callable or None, got {type(value).__name__} {value!r}")
    return value


def check_size(size: object, value: object) -> float:
    """Validate what ``getsizeof(value)`` returned: a finite real number >= 0."""
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        raise TypeError(
            f"getsizeof({value!r}) must return an int or float >= 0, got {type(size).__name__}"
        )
    if not (size >= 0 and math.isfinite(size)):
        raise ValueError(f"getsizeof({value!r}) must return a finite number >= 0, got {size!r}")
    return size
