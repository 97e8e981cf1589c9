"""Katas: graded exercises checked by the same conformance suites as the library."""
