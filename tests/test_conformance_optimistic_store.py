"""The optimistic-store kata's contract, run on dskata's VersionedStore."""

from dskata.conformance.optimistic_store import *  # noqa: F403
