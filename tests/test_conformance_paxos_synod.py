"""The paxos_synod contract, run on dskata's own implementation."""

from dskata.conformance.paxos_synod import *  # noqa: F403
