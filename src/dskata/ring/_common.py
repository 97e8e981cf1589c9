"""Validation and small helpers shared by the consistent hashing schemes (private)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from dskata.hashing import normalize_key

__all__ = [
    "CodeArray",
    "IndexArray",
    "NodeName",
    "U64Array",
    "check_count",
    "check_node_name",
    "check_weight",
    "code_dtype",
    "parse_nodes",
]

#: A node name: anything dskata can hash (str, bytes-like, int).
NodeName = str | bytes | int
U64Array = npt.NDArray[np.uint64]
IndexArray = npt.NDArray[np.intp]
#: Node indexes from a batch lookup, in the narrowest signed dtype that holds them (code_dtype).
CodeArray = npt.NDArray[np.signedinteger[Any]]


def code_dtype(bound: int) -> type[np.signedinteger[Any]]:
    """The narrowest signed integer dtype that holds every value in ``[-1, bound)``.

    Batch lookups return node indexes in ``code_dtype(len(nodes))``, as pandas stores categorical
    codes: 1 byte a key up to 128 nodes instead of 8, so a large batch's answer is written, and
    first touched by the kernel, eight times faster.

    >>> [code_dtype(b).__name__ for b in (1, 128, 129, 32768, 32769)]
    ['int8', 'int8', 'int16', 'int16', 'int32']
    """
    if bound <= 1 << 7:
        return np.int8
    if bound <= 1 << 15:
        return np.int16
    if bound <= 1 << 31:
        return np.int32
    return np.int64


def check_weight(weight: object, node: object) -> float:
    """Return ``weight`` as a float if it is a finite real number > 0, else raise."""
    if isinstance(weight, (bool, np.bool_)) or not isinstance(
        weight, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"weight of node {node!r} must be a real number > 0, got {type(weight).__name__}"
        )
    value = float(weight)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"weight of node {node!r} must be a finite number > 0, got {weight!r}")
    return value


def check_node_name(node: object) -> NodeName:
    """Return ``node`` if it is a hashable key type (str, bytes, int), else raise TypeError."""
    if isinstance(node, (bytearray, memoryview)):
        raise TypeError(f"node names must be str, bytes or int, got mutable {type(node).__name__}")
    normalize_key(node)  # raises TypeError naming the type for bool, float, None, ...
    if isinstance(node, np.integer):
        return int(node)
    return node  # type: ignore[return-value]


def parse_nodes(
    nodes: Iterable[NodeName] | Mapping[NodeName, float], *, allow_empty: bool = True
) -> list[tuple[NodeName, float]]:
    """Turn a list of names or a mapping name -> weight into ``[(name, weight)]``.

    Raises on duplicate names, bad names, bad weights, and (unless ``allow_empty``) no nodes.
    """
    if isinstance(nodes, (str, bytes, bytearray, memoryview)):
        raise TypeError(
            f"nodes must be a list of node names or a mapping name -> weight, "
            f"not a single {type(nodes).__name__}"
        )
    pairs: list[tuple[Any, Any]]
    if isinstance(nodes, Mapping):
        pairs = list(nodes.items())
    else:
        try:
            pairs = [(name, 1.0) for name in nodes]
        except TypeError:
            raise TypeError(
                "nodes must be a list of node names or a mapping name -> weight, "
                f"got {type(nodes).__name__}"
            ) from None
    out: list[tuple[NodeName, float]] = []
    seen: set[object] = set()
    for name, weight in pairs:
        name = check_node_name(name)
        if name in seen:
            raise ValueError(f"duplicate node {name!r} in nodes")
        seen.add(name)
        out.append((name, check_weight(weight, name)))
    if not out and not allow_empty:
        raise ValueError("nodes must contain at least one node, got none")
    return out


def check_count(value: object, name: str, low: int, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]``, else raise naming ``name``."""
    allowed = f"an int >= {low}" if high is None else f"an int in [{low}, {high}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {allowed}, got {type(value).__name__}")
    v = int(value)
    if v < low or (high is not None and v > high):
        raise ValueError(f"{name} must be {allowed}, got {v}")
    return v
