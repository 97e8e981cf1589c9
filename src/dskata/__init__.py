"""dskata: correct, fast, measured building blocks of large systems, with katas to learn them."""

from dskata._version import __version__
from dskata.consensus import (
    Acceptor,
    Cluster,
    InvariantViolation,
    Learner,
    PaxosNode,
    Proposer,
    RaftNode,
    assert_invariants,
    check_history,
)
from dskata.hashing import (
    fmix64,
    hash64,
    hash64_many,
    hash128,
    indexes,
    indexes_many,
    normalize_key,
    row_hashes,
    row_hashes_many,
)

__all__ = [
    "Acceptor",
    "Cluster",
    "InvariantViolation",
    "Learner",
    "PaxosNode",
    "Proposer",
    "RaftNode",
    "__version__",
    "assert_invariants",
    "check_history",
    "fmix64",
    "hash64",
    "hash64_many",
    "hash128",
    "indexes",
    "indexes_many",
    "normalize_key",
    "row_hashes",
    "row_hashes_many",
]
