"""The hashing kata's contract, run on dskata's own hashing module."""

from dskata.conformance.hashing import *  # noqa: F403
