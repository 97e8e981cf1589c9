"""One module per family, each defining ``WORKLOADS: list[Workload]`` (discovered by name)."""
