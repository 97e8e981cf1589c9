"""CPython's own lru_cache test suite (``test.test_functools.TestLRU``) run on dskata's lru_cache.

The drop-in claim, checked by the stdlib's tests rather than ours: the class below points
CPython's ``TestLRU`` mixin at a copy of ``functools`` whose ``lru_cache`` is dskata's. Skipped
where the interpreter ships without its ``test`` package.
"""

from __future__ import annotations

import functools
import types
import unittest
from typing import Any

import pytest

from dskata.cache import lru_cache

stdlib_tests = pytest.importorskip("test.test_functools")

_shim = types.ModuleType("functools_with_dskata_lru_cache")
for _name in dir(functools):
    setattr(_shim, _name, getattr(functools, _name))
_shim.lru_cache = lru_cache  # type: ignore[attr-defined]


@lru_cache()
def _module_level_cached(x: int, y: int) -> int:
    return 3 * x + y


class TestCPythonLRUSuiteOnDskata(stdlib_tests.TestLRU, unittest.TestCase):  # type: ignore[misc]
    """Every test of CPython's TestLRU, with ``self.module.lru_cache`` = dskata's."""

    module = _shim
    cached_func = (_module_level_cached,)

    @lru_cache()
    def cached_meth(self, x: int, y: int) -> Any:
        return 3 * x + y

    @staticmethod
    @lru_cache()
    def cached_staticmeth(x: int, y: int) -> Any:
        return 3 * x + y
