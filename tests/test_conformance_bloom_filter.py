"""The bloom-filter kata's contract, run on dskata's own BloomFilter."""

from dskata.conformance.bloom_filter import *  # noqa: F403
