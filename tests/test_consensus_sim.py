"""The deterministic simulator and scenario tests of Raft elections on it."""

from __future__ import annotations

import random

import pytest

from dskata.consensus.experiments import churn
from dskata.consensus.invariants import assert_invariants, check_history
from dskata.consensus.messages import HardState
from dskata.consensus.raft import Role
from dskata.consensus.sim import Cluster, Event


def leaders(c: Cluster) -> list[tuple[int, int]]:
    return [(e.node, e.term) for e in c.history if e.kind == "leader"]


def check_nodes(c: Cluster) -> None:
    for i, node in enumerate(c.nodes):
        if c.is_up(i):
            node._check()


def test_three_nodes_elect_exactly_one_leader() -> None:
    """Raft §5.2: a fresh 3-node cluster elects one leader and keeps it."""
    c = Cluster(3, seed=1)
    c.run_for(2_000)
    assert len(leaders(c)) == 1
    lead = c.leader()
    assert lead is not None and c.nodes[lead].role is Role.LEADER
    assert all(n.term == c.nodes[lead].term for n in c.nodes)
    check_nodes(c)
    assert_invariants(c)


def test_the_same_seed_replays_the_same_transcript() -> None:
    """Same seed, identical history, event for event, even with faults."""

    def run(seed: int) -> list[str]:
        c = Cluster(5, seed=seed, loss=0.1, duplicate=0.1, jitter=1.0, disk=(0.5, 2.0))
        c.run_for(400)
        c.crash(c.leader() or 0)
        c.run_for(600)
        return [str(e) for e in c.history]

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_a_cut_off_leader_is_replaced_and_steps_down_when_it_rejoins() -> None:
    """Raft §5.2: the majority elects a new leader; the old one yields to the higher term."""
    c = Cluster(5, seed=2)
    old = c.run_until_leader(timeout=2_000)
    assert old is not None
    old_term = c.nodes[old].term
    c.partition([old], [i for i in range(5) if i != old])
    c.run_for(2_000)
    new = c.leader()
    assert new is not None and new != old and c.nodes[new].term > old_term
    assert c.nodes[old].role is Role.LEADER, "an isolated leader does not know it was replaced"
    c.heal()
    c.run_for(1_000)
    assert c.nodes[old].role is Role.FOLLOWER
    assert c.leader() == new
    assert_invariants(c)


def test_seven_nodes_have_a_leader_whenever_a_majority_is_connected() -> None:
    """Raft §5.2: 7 nodes, 3 random nodes cut off, 10 rounds: the 4 connected elect a leader."""
    rng = random.Random(5)
    c = Cluster(7, seed=5)
    for _ in range(10):
        cut = rng.sample(range(7), 3)
        rest = [i for i in range(7) if i not in cut]
        c.partition(rest, *[[x] for x in cut])
        c.run_for(2_000)
        lead = c.leader()
        assert lead in rest, f"no leader among connected {rest}: leader() = {lead}"
        majority_leader = max(
            (i for i in rest if c.nodes[i].role is Role.LEADER), key=lambda i: c.nodes[i].term
        )
        assert majority_leader == lead
    c.heal()
    c.run_for(1_000)
    assert_invariants(c)
    check_nodes(c)


def test_no_leader_without_a_majority() -> None:
    """Raft §5.2: a minority can never elect a leader."""
    c = Cluster(5, seed=3)
    c.partition([0, 1], [2, 3], [4])
    c.run_for(3_000)
    assert leaders(c) == []
    assert max(n.term for n in c.nodes) > 3, "the nodes did keep trying"


def test_with_prevote_and_check_quorum_partial_connectivity_causes_no_leader_change() -> None:
    """Raft thesis §9.6: 1-2-3 connected, 4 reaches only 2, 5 only 3: the leader stays 60 s."""
    result = churn(prevote=True, check_quorum=True, seconds=60, seed=0)
    assert result.leader_changes == 0
    assert result.max_term_increase == 0


def test_without_prevote_and_check_quorum_partial_connectivity_churns() -> None:
    """Raft thesis §9.6: without Pre-Vote the cut-off nodes keep deposing the leader."""
    result = churn(prevote=False, check_quorum=False, seconds=60, seed=0)
    assert result.leader_changes >= 10
    assert result.max_term_increase >= 10


def test_the_vote_survives_a_crash_and_restart_in_the_simulator() -> None:
    """Raft Figure 2: a restarted node comes back with its persisted term and vote."""
    c = Cluster(3, seed=4, disk=(1.0, 2.0))
    lead = c.run_until_leader(timeout=2_000)
    assert lead is not None
    c.run_for(100)
    follower = next(i for i in range(3) if i != lead)
    before = (c.nodes[follower].term, c.nodes[follower].voted_for)
    c.crash(follower)
    c.restart(follower)
    after = c.nodes[follower]
    assert (after.term, after.voted_for) == before
    assert after.role is Role.FOLLOWER
    assert [e.kind for e in c.history[-2:]] == ["crash", "restart"]


def test_a_crash_before_the_disk_write_loses_the_vote_and_its_reply() -> None:
    """Persist before send: a vote whose write did not finish was never sent."""
    c = Cluster(3, seed=9, disk=(50.0, 50.0), delay=(1.0, 1.0))
    c.campaign(0)
    c.run_for(52)  # candidate write done at 50, RequestVote arrives at 51
    c.crash(1)  # node 1 granted at 51; its write would finish at 101
    c.run_for(100)
    assert "lost-vote" in [e.kind for e in c.history if e.node == 1]
    c.restart(1)
    assert c.nodes[1].voted_for is None and c.nodes[1].term == 0
    assert_invariants(c)


def test_a_crash_after_the_history_was_trimmed_voids_the_right_events() -> None:
    """Trimming history (to measure from a point on) must not shift which events a crash voids."""
    c = Cluster(3, seed=9, disk=(50.0, 50.0), delay=(1.0, 1.0))
    c.campaign(0)
    c.run_for(52)  # nodes 1 and 2 both granted at 51; their writes finish at 101
    del c.history[:3]
    c.crash(1)
    kinds = [(e.node, e.kind) for e in c.history if e.kind.endswith("vote")]
    assert kinds == [(1, "lost-vote"), (2, "vote")], kinds
    again = Cluster(3, seed=9, disk=(50.0, 50.0), delay=(1.0, 1.0))
    again.campaign(0)
    again.run_for(52)
    again.history.clear()
    again.crash(1)  # nothing left to void, and no IndexError
    assert [e.kind for e in again.history] == ["crash"]


def test_one_way_block_cuts_only_one_direction() -> None:
    """block(src, dst) drops src->dst but dst->src still flows."""
    c = Cluster(3, seed=0)
    c.block(0, 1)
    assert not c.connected(0, 1) and c.connected(1, 0)
    c.heal()
    assert c.connected(0, 1)


def test_partition_puts_unlisted_nodes_together() -> None:
    """partition() groups talk within themselves; the nodes named in no group form one more."""
    c = Cluster(4, seed=0)
    c.partition([0, 1])
    assert c.connected(0, 1) and not c.connected(0, 2) and not c.connected(2, 0)
    assert c.connected(2, 3) and c.connected(3, 2)
    c.partition([0], [1], [2])
    assert not any(c.connected(a, b) for a in range(4) for b in range(4) if a != b)


def test_cutting_off_only_the_leader_lets_the_rest_elect_a_new_one() -> None:
    """Raft §5.2 with the short form partition([leader]): the majority re-elects."""
    c = Cluster(5, seed=2)
    old = c.run_until_leader(timeout=2_000)
    assert old is not None
    c.partition([old])
    c.run_for(2_000)
    new = c.leader()
    assert new is not None and new != old and c.nodes[new].term > c.nodes[old].term
    c.heal()
    c.run_for(1_000)
    assert c.leader() == new and c.nodes[old].role is Role.FOLLOWER
    assert_invariants(c)


def test_partial_connectivity_built_from_blocks_keeps_the_leader_with_prevote() -> None:
    """Thesis §9.6 with ids 0..4 from the start: 0-1-2 connected, 3 reaches only 1, 4 only 2."""
    for seed in range(3):
        c = Cluster(5, seed=seed, prevote=True, check_quorum=True)
        links = {(0, 1), (0, 2), (1, 2), (1, 3), (2, 4)}
        for a in range(5):
            for b in range(5):
                if a != b and (a, b) not in links and (b, a) not in links:
                    c.block(a, b)
        c.run_for(3_000)
        lead = c.leader()
        assert lead in (0, 1, 2)
        mark = len(c.history)
        c.run_for(60_000)
        assert [e for e in c.history[mark:] if e.kind == "leader"] == []
        assert c.leader() == lead


def test_message_loss_and_duplication_are_seeded_faults() -> None:
    """With heavy loss there are more elections, and the history is still safe."""
    calm = Cluster(5, seed=6)
    calm.run_for(3_000)
    lossy = Cluster(5, seed=6, loss=0.45, duplicate=0.3, delay=(0.5, 20.0))
    lossy.run_for(3_000)
    assert len(leaders(lossy)) > len(leaders(calm))
    assert check_history(lossy.history, n=5) == []


def test_leadership_transfer_hands_over_to_the_target() -> None:
    """Raft thesis §3.10: after TimeoutNow, the target becomes leader of the next term."""
    c = Cluster(3, seed=8, check_quorum=True)
    lead = c.run_until_leader(timeout=2_000)
    assert lead is not None
    c.run_for(200)
    target = (lead + 1) % 3
    term = c.nodes[lead].term
    c.transfer_leadership(lead, target)
    c.run_for(100)
    assert c.leader() == target and c.nodes[target].term == term + 1
    assert_invariants(c)


def test_paxos_cluster_elects_a_leader_and_reelects_after_a_crash() -> None:
    """Paxos leader election: one leader per epoch; a crash leads to the next epoch."""
    c = Cluster(5, protocol="paxos", seed=3)
    first = c.run_until_leader(timeout=3_000)
    assert first is not None
    epoch = c.nodes[first].term
    c.run_for(300)
    c.crash(first)
    c.run_for(3_000)
    second = c.leader()
    assert second is not None and second != first and c.nodes[second].term > epoch
    assert_invariants(c)


def test_event_str_is_a_transcript_line() -> None:
    """Transcript lines read like `t=153.2 1->2 RequestVote(term=3, last=(7,2))`."""
    from dskata.consensus.messages import RequestVote

    msg = RequestVote(src=1, dst=2, term=3, last_log_index=7, last_log_term=2)
    assert str(Event(153.2, 2, "deliver", 3, msg)) == "t=153.2 1->2 RequestVote(term=3, last=(7,2))"
    assert str(Event(1.0, 0, "leader", 4)) == "t=1.0 node 0 leader term=4"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"protocol": "zab"}, ValueError, "protocol"),
        ({"delay": (5, 1)}, ValueError, "delay"),
        ({"delay": 3}, TypeError, "delay"),
        ({"loss": 1.0}, ValueError, "loss"),
        ({"duplicate": -0.1}, ValueError, "duplicate"),
        ({"disk": (-1, 2)}, ValueError, "disk"),
        ({"jitter": -1}, ValueError, "jitter"),
        ({"election_timeout": (10, 5)}, ValueError, "election_timeout"),
        ({"logs": [(1,)]}, ValueError, "logs"),
        ({"logs": [(1,), ("a",), ()]}, TypeError, r"logs\[1\] must hold int terms"),
        ({"logs": [(1,), (2, 1), ()]}, ValueError, r"logs\[1\] must be non-negative"),
        ({"logs": "abc"}, TypeError, "logs must be a sequence"),
        ({"protocol": "paxos", "prevote": True}, ValueError, "Raft options"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"heartbeat_interval": "75"}, TypeError, "heartbeat_interval"),
        ({"heartbeat_interval": 0}, ValueError, "heartbeat_interval"),
        ({"prevote": "yes"}, TypeError, "prevote"),
        ({"check_quorum": 1}, TypeError, "check_quorum"),
        ({"jitter": "1"}, TypeError, "jitter"),
    ],
)
def test_bad_cluster_arguments_name_the_parameter(
    kwargs: dict[str, object], exc: type[Exception], match: str
) -> None:
    """Constructor validation names the parameter, the value and what is allowed."""
    with pytest.raises(exc, match=match):
        Cluster(3, **kwargs)  # type: ignore[arg-type]


def test_bad_fault_calls_change_nothing() -> None:
    """crash/restart/partition/block validate before changing state."""
    c = Cluster(3, seed=0)
    with pytest.raises(ValueError, match="node must be in"):
        c.crash(3)
    with pytest.raises(ValueError, match="running"):
        c.restart(0)
    c.crash(0)
    with pytest.raises(ValueError, match="already crashed"):
        c.crash(0)
    with pytest.raises(ValueError, match="disjoint"):
        c.partition([1, 2], [2])
    assert c.connected(1, 2)
    with pytest.raises(ValueError, match="differ"):
        c.block(1, 1)
    with pytest.raises(TypeError, match="int id"):
        c.crash("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ms must be"):
        c.run_for(-1)
    with pytest.raises(TypeError, match="ms must be"):
        c.run_for("10")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        c.run_until_leader(timeout=-5)
    with pytest.raises(TypeError, match="timeout"):
        c.run_until(lambda: False, timeout="1")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="timeout"):
        c.run_until_heartbeat(0, timeout=float("nan"))
    assert c.now == 0.0 and c.history[-1].kind == "crash"


def test_a_restarted_node_gets_its_durable_hard_state() -> None:
    """The durable state handed to restart() is the last completed write."""
    c = Cluster(3, seed=2, logs=[(1, 1), (1,), (1,)])
    assert c.nodes[0].hard_state == HardState(1, None)
    c.run_for(1_000)
    lead = c.leader()
    assert lead == 0, "only node 0 has the most up-to-date log"


def test_the_docs_tour_runs() -> None:
    """docs/consensus.md: the Tour's examples are doctested."""
    import doctest
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "docs" / "consensus.md"
    if not path.is_file():  # pragma: no cover - docs are not shipped in the sdist
        pytest.skip("docs/consensus.md not present")
    result = doctest.testfile(
        str(path),
        module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.failed == 0 and result.attempted > 10
