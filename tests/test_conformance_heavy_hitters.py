"""The heavy-hitters kata's contract, run on dskata's own TopK."""

from dskata.conformance.heavy_hitters import *  # noqa: F403
