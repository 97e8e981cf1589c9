"""The hash-ring kata's contract, run on dskata's own HashRing."""

from dskata.conformance.hash_ring import *  # noqa: F403
