"""The raft_election contract, run on dskata's own implementation."""

from dskata.conformance.raft_election import *  # noqa: F403
