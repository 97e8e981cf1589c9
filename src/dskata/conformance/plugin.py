"""The pytest plugin behind every conformance suite.

It registers the ``kata_step(number, title)`` marker, the ``impl`` fixture and two options:

* ``--kata-impl PATH``: run the suites on the learner's file at PATH instead of dskata's own
  reference (the fixture loads it once, under a unique module name);
* ``--kata-step N``: run only the tests of step N.

``impl`` is a :class:`dskata.kata.catalogue.Implementation`: attribute access returns the
kata's target names (``impl.BloomFilter``, ``impl.fmix64``) from the reference module, or from the
learner's module, with a plain-words error when the learner has not defined one yet.

A conformance module declares which kata it belongs to with a module-level ``KATA = "slug"``.
``tests/`` star-imports the module, so the very same test functions run on the library.
"""

from __future__ import annotations

from typing import Any

import pytest

from dskata.kata.catalogue import Implementation, get_kata, load_learner_module


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dskata", "dskata kata conformance")
    group.addoption("--kata-impl", default=None, help="learner file to run the contract on")
    group.addoption("--kata-step", type=int, default=None, help="only run tests of this step")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "kata_step(number, title): the kata step a conformance test belongs to"
    )
    # Shared machines are noisy: a per-example deadline or a data-generation health check would
    # fail correct code at random. Correctness is what these suites judge; speed is benchmarked.
    from hypothesis import HealthCheck, settings

    settings.register_profile("dskata", deadline=None, suppress_health_check=[HealthCheck.too_slow])
    settings.load_profile("dskata")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    step = config.getoption("--kata-step")
    if step is None:
        return
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        mark = item.get_closest_marker("kata_step")
        (keep if mark is not None and mark.args[0] == step else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


_LOADED: dict[str, Implementation] = {}


@pytest.fixture(scope="module")
def impl(request: pytest.FixtureRequest) -> Any:
    """The implementation under test: the learner's (``--kata-impl``) or dskata's reference."""
    slug = getattr(request.module, "KATA", None)
    if slug is None:
        raise pytest.UsageError(f"{request.module.__name__} does not declare KATA = 'slug'")
    kata = get_kata(slug)
    path = request.config.getoption("--kata-impl")
    cache_key = f"{slug}:{path}"
    if cache_key not in _LOADED:
        if path is None:
            _LOADED[cache_key] = Implementation.reference(kata)
        else:
            _LOADED[cache_key] = Implementation(kata, load_learner_module(kata, path), learner=True)
    return _LOADED[cache_key]
