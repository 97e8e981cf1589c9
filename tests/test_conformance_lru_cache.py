"""The lru_cache kata's contract, run on dskata's own implementation."""

from dskata.conformance.lru_cache import *  # noqa: F403
