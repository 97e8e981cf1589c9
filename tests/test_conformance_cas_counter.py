"""The cas-counter kata's contract, run on dskata's own atomics."""

from dskata.conformance.cas_counter import *  # noqa: F403
