"""The s3fifo_cache kata's contract, run on dskata's own implementation."""

from dskata.conformance.s3fifo_cache import *  # noqa: F403
