"""CLI command families: each module defines ``register(subparsers)`` (discovered by name)."""
