"""The invariant checker catches each broken rule, and random fault schedules break none."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dskata.consensus.experiments import fuzz
from dskata.consensus.invariants import InvariantViolation, assert_invariants, check_history
from dskata.consensus.messages import Ballot, Message
from dskata.consensus.raft import RaftNode, Role
from dskata.consensus.sim import Cluster, Event


def E(t: float, node: int, kind: str, term: int, detail: object = None) -> Event:
    return Event(t, node, kind, term, detail)


def rules(history: list[Event], n: int = 3, protocol: str = "raft") -> list[str]:
    return [v.rule for v in check_history(history, n=n, protocol=protocol)]


def elected(node: int, term: int, voters: list[int], t: float = 1.0) -> list[Event]:
    return [E(t, v, "vote", term, node) for v in voters] + [E(t, node, "leader", term)]


def test_a_safe_history_has_no_violation() -> None:
    """Two leaders in two terms, each with a majority: safe."""
    h = elected(0, 1, [0, 1]) + elected(2, 2, [2, 1])
    assert rules(h) == []


def test_two_leaders_in_one_term_are_caught() -> None:
    """Raft Figure 3, Election Safety: at most one leader per term."""
    h = [*elected(0, 1, [0, 1]), E(2.0, 2, "vote", 1, 2), E(2.0, 1, "vote", 1, 2)]
    h.append(E(2.0, 2, "leader", 1))
    assert "one leader per term" in rules(h)


def test_a_second_vote_in_a_term_is_caught_even_after_a_restart() -> None:
    """Raft Figure 2: votedFor is persistent; one vote per node per term, across restarts."""
    h = [E(1.0, 1, "vote", 3, 0), E(2.0, 1, "crash", 3), E(3.0, 1, "restart", 3)]
    h.append(E(4.0, 1, "vote", 3, 2))
    assert rules(h) == ["one vote per node per term"]


def test_a_decreasing_term_is_caught() -> None:
    """currentTerm is persistent: it never goes back, across restarts."""
    h = [E(1.0, 0, "term", 5), E(2.0, 0, "restart", 4)]
    assert rules(h) == ["terms never decrease"]


def test_a_leader_without_a_majority_is_caught() -> None:
    """Raft §5.2: a leader received votes from a majority of the cluster in its term."""
    h = elected(0, 1, [0, 1])
    assert rules(h, n=5) == ["a leader had a majority"]


def test_votes_lost_in_a_crash_do_not_count() -> None:
    """An effect never persisted (lost-vote) neither counts nor conflicts."""
    h = [E(1.0, 1, "lost-vote", 2, 0), E(2.0, 1, "vote", 2, 2)]
    assert rules(h) == []


def test_two_values_chosen_in_one_paxos_instance_are_caught() -> None:
    """Paxos Made Simple §2.1: only a single value is chosen."""
    b1, b2 = Ballot(1, 0), Ballot(2, 1)
    h = [E(0.0, 0, "propose", 1, (b1, "a")), E(0.0, 1, "propose", 1, (b2, "b"))]
    h += [E(1.0, a, "accept", 1, (b1, "a")) for a in (0, 1)]
    h += [E(2.0, a, "accept", 1, (b2, "b")) for a in (1, 2)]
    assert rules(h, protocol="paxos") == ["one value chosen per instance"]


def test_a_learned_value_that_disagrees_is_caught() -> None:
    """A learner's value must be the value a majority accepted."""
    b1 = Ballot(1, 0)
    h = [E(0.0, 0, "propose", 1, (b1, "a"))]
    h += [E(1.0, a, "accept", 1, (b1, "a")) for a in (0, 1)]
    h.append(E(2.0, 2, "chosen", 1, "z"))
    assert rules(h, protocol="paxos") == ["one value chosen per instance"]


def test_an_unproposed_value_is_caught() -> None:
    """Paxos Made Simple §2.1: only a value that has been proposed may be chosen."""
    h = [E(1.0, a, "accept", 1, (Ballot(1, 0), "ghost")) for a in (0, 1)]
    assert "a chosen value was proposed" in rules(h, protocol="paxos")


def test_a_violation_report_has_the_seed_and_a_transcript() -> None:
    """The failure shows the seed to replay and the last events as transcript lines."""

    class Fake:
        def __init__(self) -> None:
            self.n = 3
            self.protocol = "raft"
            self.seed = 42
            self.history = [*elected(0, 1, [0, 1]), E(153.2, 2, "leader", 1)]

    with pytest.raises(InvariantViolation) as info:
        assert_invariants(Fake())
    text = str(info.value)
    assert "seed=42" in text and "one leader per term" in text
    assert "t=153.2 node 2 leader term=1" in text


def test_checker_rejects_an_unknown_protocol() -> None:
    """The protocol argument is validated."""
    with pytest.raises(ValueError, match="protocol"):
        check_history([], n=3, protocol="zab")


def test_checker_rejects_a_bad_cluster_size() -> None:
    """n is the cluster size: a positive int, named in the error."""
    with pytest.raises(ValueError, match="n must be >= 1"):
        check_history([], n=0)
    with pytest.raises(TypeError, match="n must be an int"):
        check_history([], n="3")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("protocol", "prevote", "check_quorum", "schedules"),
    [
        ("raft", False, False, 1000),
        ("raft", True, False, 1000),
        ("raft", True, True, 1000),
        ("paxos", False, False, 1000),
    ],
)
def test_random_fault_schedules_break_no_invariant(
    protocol: str, prevote: bool, check_quorum: bool, schedules: int
) -> None:
    """1,000 schedules per configuration: loss, duplication, reordering, partitions, crashes,
    restarts (Raft plain, with PreVote, with PreVote and CheckQuorum; Paxos).

    (The benchmark runs 10,000 per configuration; `dskata raft fuzz` runs any number.)
    """
    report = fuzz(
        schedules, protocol=protocol, prevote=prevote, check_quorum=check_quorum, seed=2026
    )
    assert report.ok, report.violations[0][2]
    assert sum(report.elections) > schedules, "the schedules did elect leaders"


def test_the_fuzzer_finds_a_planted_double_vote() -> None:
    """The fuzz harness is not vacuous: a node that forgets its vote is caught."""

    class Forgetful(RaftNode):
        def step(self, msg: Message, now: float):  # type: ignore[no-untyped-def]
            self.voted_for = None  # forgets its vote before every message
            return super().step(msg, now)

    found = 0
    for seed in range(40):
        c = Cluster(5, seed=seed, node_class=Forgetful, election_timeout=(10, 11), delay=(0.1, 4))
        c.run_for(300)
        found += bool(check_history(c.history, n=5))
    assert found > 0


class _RaftVsModel(RuleBasedStateMachine):
    """A single RaftNode fed arbitrary messages and ticks, against a tiny model.

    Model: the highest term seen, and the vote given in each term (at most one).
    """

    def __init__(self) -> None:
        super().__init__()
        self.node = RaftNode(0, [1, 2, 3, 4], prevote=True, check_quorum=True, seed=1)
        self.now = 0.0
        self.max_term = 0
        self.votes: dict[int, int] = {}

    def _after(self) -> None:
        n = self.node
        n._check()
        assert n.term >= self.max_term, "terms never decrease"
        self.max_term = n.term
        if n.voted_for is not None:
            prior = self.votes.setdefault(n.term, n.voted_for)
            assert prior == n.voted_for, f"voted for {prior} and {n.voted_for} in term {n.term}"

    @rule(dt=st.floats(0, 400))
    def tick(self, dt: float) -> None:
        self.now += dt
        self.node.tick(self.now)
        self._after()

    @rule(
        kind=st.sampled_from(["rv", "rvr", "ae", "aer", "pv", "pvr"]),
        src=st.integers(1, 4),
        dterm=st.integers(-2, 2),
        granted=st.booleans(),
        last=st.integers(0, 3),
    )
    def message(self, kind: str, src: int, dterm: int, granted: bool, last: int) -> None:
        from dskata.consensus import messages as m

        term = max(0, self.node.term + dterm)
        msg: Message = {
            "rv": lambda: m.RequestVote(src, 0, term, last, min(last, term)),
            "rvr": lambda: m.RequestVoteResponse(src, 0, term, granted),
            "ae": lambda: m.AppendEntries(src, 0, term),
            "aer": lambda: m.AppendEntriesResponse(src, 0, term, granted),
            "pv": lambda: m.PreVote(src, 0, term, last, min(last, term)),
            "pvr": lambda: m.PreVoteResponse(src, 0, term, granted),
        }[kind]()
        self.node.step(msg, self.now)
        self._after()

    @invariant()
    def a_leader_is_never_behind_a_term_it_saw(self) -> None:
        if self.node.role is Role.LEADER:
            assert self.node.term == self.max_term


def test_a_raft_node_keeps_its_invariants_under_any_message_sequence() -> None:
    """Stateful: one vote per term and monotonic terms, whatever arrives in whatever order."""
    run_state_machine_as_test(
        _RaftVsModel, settings=settings(max_examples=40, stateful_step_count=40, deadline=None)
    )


class _ClusterVsModel(RuleBasedStateMachine):
    """A Cluster under arbitrary fault calls, against a model of which nodes are up.

    After every step the complete history must be safe and the nodes' own invariants hold.
    """

    protocol = "raft"

    def __init__(self) -> None:
        super().__init__()
        self.c = Cluster(
            5,
            protocol=self.protocol,
            seed=3,
            election_timeout=(10, 20),
            delay=(0.2, 6.0),
            loss=0.1,
            duplicate=0.1,
            disk=(0.1, 2.0),
            prevote=self.protocol == "raft",
            check_quorum=self.protocol == "raft",
        )
        self.up = set(range(5))

    @rule(ms=st.floats(0.5, 40.0))
    def run(self, ms: float) -> None:
        self.c.run_for(ms)

    @rule(node=st.integers(0, 4))
    def crash_or_restart(self, node: int) -> None:
        if node in self.up:
            self.c.crash(node)
            self.up.discard(node)
        else:
            self.c.restart(node)
            self.up.add(node)

    @rule(cut=st.sets(st.integers(0, 4), min_size=1, max_size=4))
    def partition(self, cut: set[int]) -> None:
        self.c.partition(sorted(cut), [i for i in range(5) if i not in cut])

    @rule()
    def heal(self) -> None:
        self.c.heal()

    @invariant()
    def safe_and_consistent(self) -> None:
        assert {i for i in range(5) if self.c.is_up(i)} == self.up
        for i in self.up:
            self.c.nodes[i]._check()
        found = check_history(self.c.history, n=5, protocol=self.protocol)
        assert not found, found[0].report(self.c.history, 3)


class _PaxosClusterVsModel(_ClusterVsModel):
    protocol = "paxos"


@pytest.mark.parametrize("machine", [_ClusterVsModel, _PaxosClusterVsModel])
def test_a_cluster_stays_safe_under_any_sequence_of_faults(machine: type) -> None:
    """Stateful: crashes, restarts, partitions and heals in any order never break safety."""
    run_state_machine_as_test(
        machine, settings=settings(max_examples=25, stateful_step_count=25, deadline=None)
    )
