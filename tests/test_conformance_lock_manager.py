"""The lock-manager kata's contract, run on dskata's LockManager."""

from dskata.conformance.lock_manager import *  # noqa: F403
