"""Experiments on the simulator: the Raft paper's Figure 16, fault-schedule fuzzing, churn.

Theory of operation
-------------------
*Figure 16* (Ongaro & Ousterhout 2014, §9.3; the LAN benchmark of Ongaro's thesis, chapter 9).
Five servers; two of the four that survive have shorter logs, so they cannot win. Once a leader
is established it sends a synchronising heartbeat (every follower's election timer restarts at
about the same moment), and is crashed at a uniformly random point of its heartbeat interval,
which is half the minimum election timeout. Measured is the time from the crash until another
server receives the new leader's first heartbeat. As in the paper, one cluster's leader is
crashed again and again (the crashed server restarts between trials). The paper's cluster had a
"broadcast time (network round trip plus disk write) of roughly 15ms"; the
:data:`LOGCABIN_2014` calibration preset models that cluster (see its comment for each number).

*Fuzzing.* Random fault schedules (loss, duplication, reordering by wide delays, partitions,
one-way blocks, crashes and restarts) on small clusters; the complete history of each run is
checked by :mod:`dskata.consensus.invariants`.

*Churn.* The partial-connectivity case of thesis §9.6: five nodes, 0-1-2 fully connected,
node 3 reaches only node 1 and node 4 reaches only node 2 (1-based: 4 reaches 2, 5 reaches 3).
Without Pre-Vote and CheckQuorum the cut-off nodes keep raising the term and deposing healthy
leaders; with them the leader stays.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dskata.consensus.invariants import Violation, check_history
from dskata.consensus.raft import Role
from dskata.consensus.sim import Cluster
from dskata.hashing import validate_seed

__all__ = [
    "FIGURE16_RANGES",
    "LOGCABIN_2014",
    "PAPER_FIGURE16",
    "Calibration",
    "ChurnResult",
    "FuzzReport",
    "RangeResult",
    "churn",
    "figure16",
    "figure16_range",
    "figure16_trial",
    "fuzz",
]


@dataclass(frozen=True)
class Calibration:
    """Network, disk and timer parameters of a simulated deployment.

    Attributes:
        name: short id.
        delay: one-way message delay ``(lo, hi)`` ms, uniform.
        disk: one durable write ``(lo, hi)`` ms, uniform; writes of one node are serialised.
        jitter: timers fire up to this many ms late, uniform.
        separate_term_write: a voter that adopts a new term and grants its vote pays two writes.
        leader_write: a new leader writes its no-op entry before its first heartbeat.
        description: where the numbers come from.
    """

    name: str
    delay: tuple[float, float]
    disk: tuple[float, float]
    jitter: float
    separate_term_write: bool = False
    leader_write: bool = False
    description: str = ""


#: The calibration for Figure 16: LogCabin on five servers (thesis Table 9.1: gigabit Ethernet,
#: ext4 on one Crucial M4 SSD per server), "broadcast time (network round trip plus disk
#: write) of roughly 15ms" (the caption of the thesis's LAN benchmark figure, chapter 9).
#:
#: * ``delay`` 0.1-0.3 ms one way: a gigabit LAN round trip of a fraction of a millisecond.
#: * ``disk`` 1.5-4 ms per fsync of a small file on a 2012 consumer SSD; writes of one node are
#:   serialised (a queued write absorbs later states: group commit).
#: * ``separate_term_write``: LogCabin writes the new term when it steps down and then the vote,
#:   so a voter seeing a new term pays two fsyncs before it answers.
#: * ``leader_write``: a new leader appends its no-op entry (Raft §8) and it is written before
#:   the first heartbeat leaves.
#: * ``jitter`` 0.1 ms: timer threads wake up a little late.
#:
#: The critical path of an election is then candidate fsync, RequestVote, two voter fsyncs,
#: reply, leader fsync, heartbeat: about 11-12 ms, close to the quoted 15 ms. The window in which
#: a second timeout splits the vote is only the candidate's fsync plus one network hop (~3 ms),
#: which is why 5 ms of randomness already avoids most split votes. These values were chosen
#: once (seed 0, also checked on seeds 1 and 2) to land the four numbers the paper quotes; they
#: are not re-fitted per range.
LOGCABIN_2014 = Calibration(
    name="logcabin-2014",
    delay=(0.1, 0.3),
    disk=(1.5, 4.0),
    jitter=0.1,
    separate_term_write=True,
    leader_write=True,
    description="LogCabin 2014: 1 GbE LAN, SSD fsync 1.5-4 ms, LogCabin's write pattern",
)

#: The ten election-timeout ranges of Figure 16, in ms (top graph, then bottom graph).
FIGURE16_RANGES: tuple[tuple[float, float], ...] = (
    (150, 150),
    (150, 151),
    (150, 155),
    (150, 175),
    (150, 200),
    (150, 300),
    (12, 24),
    (25, 50),
    (50, 100),
    (100, 200),
)

#: What the paper's text quotes (§9.3), keyed by range: statistic name -> ms.
PAPER_FIGURE16: dict[tuple[float, float], dict[str, float]] = {
    (150, 150): {"p50_ms": 10_000.0},  # "consistently took longer than 10 seconds"
    (150, 155): {"p50_ms": 287.0},
    (150, 200): {"max_ms": 513.0},
    (12, 24): {"mean_ms": 35.0, "max_ms": 152.0},
}

_SEED_END = 2**32  # seeds are ints in [0, 2**32) (dskata.hashing.validate_seed)
_LONG_LOG = (1, 1, 1)
_SHORT_LOG = (1, 1)


def _figure16_cluster(timeout: tuple[float, float], seed: int, calibration: Calibration) -> Cluster:
    return Cluster(
        5,
        seed=seed,
        election_timeout=timeout,
        delay=calibration.delay,
        disk=calibration.disk,
        jitter=calibration.jitter,
        separate_term_write=calibration.separate_term_write,
        leader_write=calibration.leader_write,
        # Nodes 0-2 are up to date; 3 and 4 have shorter logs and cannot be elected.
        logs=[_LONG_LOG, _LONG_LOG, _LONG_LOG, _SHORT_LOG, _SHORT_LOG],
        record_messages=False,
    )


def _crash_the_leader(c: Cluster, crash_rng: random.Random, cap_ms: float) -> tuple[float, int]:
    """Wait for a settled leader, crash it within its heartbeat interval, time the recovery."""
    lo = c.election_timeout[0]
    settled = 0
    while True:
        leader = c.leader()
        if leader is None:
            # Between trials, as the benchmark script could, kick one up-to-date server into
            # an election (without it, identical fixed timeouts may split votes for minutes).
            give_up = c.now + cap_ms
            while leader is None and c.now < give_up:
                c.campaign(next(x for x in (0, 1, 2) if c.is_up(x)))
                leader = c.run_until_leader(timeout=2 * c.election_timeout[1])
            settled = 0
            if leader is None:  # pragma: no cover - needs a campaign to fail for cap_ms
                return math.inf, -1
        node = c.nodes[leader]
        hb = node.heartbeat_interval
        # Wait for the leader's next heartbeat broadcast; the second one after it took over is
        # the synchronising one (every follower then knows the leader).
        before = node.deadline

        def heartbeat_sent(node: Any = node, before: float = before) -> bool:
            return bool(node.deadline > before or node.role is not Role.LEADER)

        c.run_until(heartbeat_sent, timeout=hb + lo)
        if node.role is not Role.LEADER:
            continue
        settled += 1
        if settled < 2:
            continue
        sent_at = node.deadline - hb
        crash_at = sent_at + hb * crash_rng.random()  # uniformly within the heartbeat interval
        if crash_at > c.now:
            c.run_for(crash_at - c.now)
        if node.role is Role.LEADER:
            break
        settled = 0
    c.crash(leader)
    t0 = c.now
    got = c.run_until_heartbeat(node.term, timeout=cap_ms)
    return (math.inf if got is None else got - t0), leader


def figure16_trial(
    timeout: tuple[float, float],
    seed: int,
    *,
    calibration: Calibration = LOGCABIN_2014,
    cap_ms: float = 20_000.0,
) -> float:
    """One Figure 16 trial on a fresh cluster: ms from the leader's crash to a new heartbeat.

    Returns ``math.inf`` when no new leader emerged within ``cap_ms``.

    Complexity: O(events of one election), about 100 events without split votes.

    >>> 75 <= figure16_trial((150, 300), seed=1) < 1000
    True
    """
    c = _figure16_cluster(timeout, seed, calibration)
    return _crash_the_leader(c, random.Random(seed ^ 0x5EED), cap_ms)[0]


@dataclass(frozen=True)
class RangeResult:
    """Figure 16 statistics for one election-timeout range (ms)."""

    timeout_ms: tuple[float, float]
    trials: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    censored: int = 0  # trials that hit the cap (counted at the cap)
    cap_ms: float = 20_000.0  # the cap: a trial without a new leader by then counts as this

    def is_capped(self, value_ms: float) -> bool:
        """True if the statistic ``value_ms`` is only a lower bound (it includes capped trials).

        A quantile or the max is capped when it equals the cap (and some trial hit it); the
        mean is a lower bound as soon as any trial was capped.

        Complexity: O(1).
        """
        return self.censored > 0 and value_ms >= self.cap_ms

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of ``dskata raft figure16 --json``.

        Complexity: O(1).
        """
        return {
            "timeout_ms": [self.timeout_ms[0], self.timeout_ms[1]],
            "trials": self.trials,
            "p50_ms": round(self.p50_ms, 3),
            "p90_ms": round(self.p90_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "mean_ms": round(self.mean_ms, 3),
            "capped_trials": self.censored,
            "cap_ms": self.cap_ms,
        }


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    # Nearest-rank on the sorted sample; with 1000 trials p99 is the 990th value.
    k = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return float(sorted_values[k])


def figure16_range(
    timeout: tuple[float, float],
    trials: int,
    *,
    seed: int = 0,
    calibration: Calibration = LOGCABIN_2014,
    cap_ms: float = 20_000.0,
) -> tuple[RangeResult, list[float]]:
    """Run ``trials`` Figure 16 trials for one range; returns the summary and the samples.

    Complexity: O(trials x events per election).
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"trials must be a positive int, got {trials!r}")
    seed = validate_seed(seed)
    # Derived seeds are reduced mod 2**32 so they stay valid Cluster seeds (small seeds: as is).
    base = (seed * 1_000_003 + int(timeout[0]) * 1_000 + int(timeout[1])) % _SEED_END
    # As in the paper, one cluster's leader is crashed again and again: after each trial the
    # crashed server restarts, a leader settles, and the next trial begins.
    c = _figure16_cluster(timeout, base, calibration)
    crash_rng = random.Random(base ^ 0x5EED)
    samples = []
    censored = 0
    for _ in range(trials):
        v, crashed = _crash_the_leader(c, crash_rng, cap_ms)
        if math.isinf(v):
            censored += 1
            v = cap_ms
        samples.append(v)
        if crashed >= 0:
            c.restart(crashed)
        del c.history[:]  # nothing reads it; keep memory flat over thousands of trials
    s = sorted(samples)
    result = RangeResult(
        (float(timeout[0]), float(timeout[1])),
        trials,
        _quantile(s, 0.5),
        _quantile(s, 0.9),
        _quantile(s, 0.99),
        s[-1],
        statistics.fmean(s),
        censored,
        float(cap_ms),
    )
    return result, samples


def figure16(
    trials: int = 1000,
    *,
    fixed_trials: int | None = None,
    seed: int = 0,
    calibration: Calibration = LOGCABIN_2014,
    ranges: Sequence[tuple[float, float]] = FIGURE16_RANGES,
    cap_ms: float = 20_000.0,
) -> list[tuple[RangeResult, list[float]]]:
    """Reproduce Figure 16: every range, ``trials`` each (``fixed_trials`` for 150-150).

    ``fixed_trials`` defaults to ``trials // 10`` (the paper ran 100 trials for 150-150, whose
    elections are very long).

    Complexity: O(total trials x events per election).
    """
    seed = validate_seed(seed)
    if fixed_trials is None:
        fixed_trials = max(1, trials // 10)
    out = []
    for r in ranges:
        n = fixed_trials if r[0] == r[1] else trials
        out.append(figure16_range(r, n, seed=seed, calibration=calibration, cap_ms=cap_ms))
    return out


# --------------------------------------------------------------------------- fuzzing


@dataclass
class FuzzReport:
    """Outcome of :func:`fuzz`: violations found and elections per schedule."""

    schedules: int
    protocol: str
    prevote: bool
    check_quorum: bool
    violations: list[tuple[int, list[Violation], str]] = field(default_factory=list)
    elections: list[int] = field(default_factory=list)
    events: int = 0

    @property
    def ok(self) -> bool:
        """True when no schedule violated an invariant.

        Complexity: O(1).
        """
        return not self.violations


def _random_schedule(
    seed: int,
    protocol: str,
    prevote: bool,
    check_quorum: bool,
    duration: float,
    record_messages: bool = False,
) -> Cluster:
    rng = random.Random(seed)
    n = rng.choice((3, 5, 5, 7)) if protocol == "raft" else rng.choice((3, 5, 5))
    lo = 10.0
    logs = None
    if protocol == "raft":
        # Unequal logs exercise the up-to-date check (§5.4.1).
        logs = [
            tuple(sorted(rng.choice((1, 2)) for _ in range(rng.randint(0, 3)))) for _ in range(n)
        ]
    c = Cluster(
        n,
        protocol=protocol,
        seed=seed,
        election_timeout=(lo, 2 * lo),
        prevote=prevote,
        check_quorum=check_quorum,
        delay=(0.2, rng.choice((2.0, 5.0, 12.0))),  # wide delays reorder messages
        loss=rng.choice((0.0, 0.05, 0.2, 0.4)),
        duplicate=rng.choice((0.0, 0.1, 0.3)),
        disk=rng.choice(((0.0, 0.0), (0.1, 3.0))),
        jitter=rng.choice((0.0, 1.0)),
        logs=logs,
        record_messages=record_messages,
    )
    t = 0.0
    while t < duration:
        step = rng.uniform(1.0, 25.0)
        c.run_for(step)
        t += step
        action = rng.random()
        node = rng.randrange(n)
        if action < 0.2:
            if c.is_up(node):
                c.crash(node)
            else:
                c.restart(node)
        elif action < 0.3:
            # A bounce: crash and restart at once, so the node rejoins in the same term (the
            # case that exposes a vote or promise that was not persisted).
            if c.is_up(node):
                c.crash(node)
            c.restart(node)
        elif action < 0.4:
            ids = list(range(n))
            rng.shuffle(ids)
            cut = rng.randint(1, n - 1)
            c.partition(ids[:cut], ids[cut:])
        elif action < 0.5:
            other = rng.randrange(n)
            if other != node:
                c.block(node, other)
        elif action < 0.65:
            c.heal()
    c.heal()
    for i in range(n):
        if not c.is_up(i):
            c.restart(i)
    c.run_for(60.0)
    return c


def fuzz(
    schedules: int,
    *,
    protocol: str = "raft",
    prevote: bool = False,
    check_quorum: bool = False,
    seed: int = 0,
    duration: float = 150.0,
) -> FuzzReport:
    """Run ``schedules`` random fault schedules and check every complete history.

    Complexity: O(schedules x events per schedule).

    >>> fuzz(3, seed=1).ok
    True
    """
    if isinstance(schedules, bool) or not isinstance(schedules, int) or schedules < 1:
        raise ValueError(f"schedules must be a positive int, got {schedules!r}")
    seed = validate_seed(seed)
    report = FuzzReport(schedules, protocol, prevote, check_quorum)
    for k in range(schedules):
        s = (seed * 1_000_003 + k) % _SEED_END  # a valid Cluster seed that replays the schedule
        c = _random_schedule(s, protocol, prevote, check_quorum, duration)
        report.events += len(c.history)
        found = check_history(c.history, n=c.n, protocol=protocol)
        if found:
            # Replay the same seed with every message recorded, for the transcript.
            full = _random_schedule(s, protocol, prevote, check_quorum, duration, True)
            again = check_history(full.history, n=full.n, protocol=protocol)
            text = again[0].report(full.history, s) if again else found[0].report(c.history, s)
            report.violations.append((s, found, text))
        report.elections.append(sum(1 for e in c.history if e.kind == "leader"))
    return report


# --------------------------------------------------------------------------- churn (§9.6)


@dataclass(frozen=True)
class ChurnResult:
    """Leader changes after a stable leader, under partial connectivity."""

    prevote: bool
    check_quorum: bool
    seconds: float
    leader_changes: int
    max_term_increase: int
    initial_leader: int


def churn(
    *, prevote: bool, check_quorum: bool, seconds: float = 60.0, seed: int = 0
) -> ChurnResult:
    """The thesis §9.6 partial-connectivity case; counts leader changes over ``seconds``.

    Nodes 0, 1, 2 are fully connected; node 3 reaches only node 1 and node 4 only node 2. A
    leader is first elected among 0-2 (3 and 4 are cut off meanwhile), then the partial links
    come up and the run lasts ``seconds`` simulated seconds.

    Complexity: O(events), about 40 per heartbeat interval.

    >>> churn(prevote=True, check_quorum=True, seconds=5).leader_changes
    0
    """
    c = Cluster(
        5,
        seed=seed,
        prevote=prevote,
        check_quorum=check_quorum,
        delay=(1.0, 5.0),
        record_messages=False,
    )
    c.partition([0, 1, 2], [3], [4])
    leader = c.run_until_leader(timeout=10_000)
    assert leader is not None and leader in (0, 1, 2)
    c.run_for(1_000)
    leader = c.leader()
    assert leader is not None
    start_term = c.nodes[leader].term
    c.heal()
    for a in (0, 1, 2):
        for b in (3, 4):
            if (a, b) not in ((1, 3), (2, 4)):
                c.block(a, b)
                c.block(b, a)
    c.block(3, 4)
    c.block(4, 3)
    mark = len(c.history)
    c.run_for(seconds * 1000.0)
    changes = sum(1 for e in c.history[mark:] if e.kind == "leader")
    top = max(node.term for node in c.nodes)
    return ChurnResult(prevote, check_quorum, seconds, changes, top - start_term, leader)
