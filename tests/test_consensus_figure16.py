"""Figure 16 of the Raft paper (§9.3), reduced: the full run is `dskata raft figure16`."""

from __future__ import annotations

import math

from dskata.consensus.experiments import (
    FIGURE16_RANGES,
    LOGCABIN_2014,
    PAPER_FIGURE16,
    figure16_range,
    figure16_trial,
)


def test_five_ms_of_randomness_gives_the_papers_median_within_15_percent() -> None:
    """Raft §9.3: "Adding just 5ms of randomness ... a median downtime of 287ms"."""
    r, _ = figure16_range((150, 155), 300)
    assert abs(r.p50_ms - 287) <= 0.15 * 287, r


def test_aggressive_timeouts_give_the_papers_mean_within_15_percent() -> None:
    """Raft §9.3: "With an election timeout of 12-24ms, it takes only 35ms on average"."""
    r, _ = figure16_range((12, 24), 300)
    assert abs(r.mean_ms - 35) <= 0.15 * 35, r
    assert r.max_ms <= 152 * 1.3, r


def test_no_randomness_means_elections_of_more_than_ten_seconds() -> None:
    """Raft §9.3: "In the absence of randomness, leader election consistently took >10 s"."""
    r, samples = figure16_range((150, 150), 3, cap_ms=12_000)
    assert all(s > 10_000 for s in samples), samples
    assert r.p50_ms > 10_000


def test_downtime_is_at_least_half_the_minimum_timeout() -> None:
    """Raft §9.3: "the smallest possible downtime was about half of the minimum timeout"."""
    _, samples = figure16_range((150, 300), 200)
    assert min(samples) >= 150 / 2 - 1
    assert min(samples) < 150, "some trials crash late in the heartbeat interval"


def test_more_randomness_means_fewer_split_votes() -> None:
    """Raft §9.3 (top graph): the tail shrinks as the timeout range widens."""
    narrow, _ = figure16_range((150, 155), 200)
    wide, _ = figure16_range((150, 200), 200)
    assert wide.p90_ms < narrow.p90_ms / 2


def test_a_trial_replays_from_its_seed() -> None:
    """Every trial is deterministic for its seed."""
    assert figure16_trial((150, 300), seed=9) == figure16_trial((150, 300), seed=9)
    assert math.isfinite(figure16_trial((150, 300), seed=9))


def test_the_preset_and_the_paper_numbers_are_documented() -> None:
    """The calibration is a named preset; the paper's quoted numbers are data, not prose."""
    assert LOGCABIN_2014.name == "logcabin-2014" and LOGCABIN_2014.description
    assert len(FIGURE16_RANGES) == 10
    assert PAPER_FIGURE16[(150, 155)] == {"p50_ms": 287.0}
    assert PAPER_FIGURE16[(12, 24)] == {"mean_ms": 35.0, "max_ms": 152.0}
