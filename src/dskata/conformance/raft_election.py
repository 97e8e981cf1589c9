"""Contract of the ``raft-election`` kata: a sans-IO Raft node that elects one leader per term.

The tests touch only the public surface of ``impl.RaftNode`` (constructor, ``tick``, ``step``,
``deadline``, ``role``, ``term``, ``voted_for``, ``leader_id``) and the shared message types of
:mod:`dskata.consensus.messages`. Step 6 runs the node class on the simulator
(:class:`dskata.consensus.sim.Cluster` with ``node_class``) under random faults and checks the
complete history; a failure shows the seed and the message transcript.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from dskata.consensus.invariants import check_history
from dskata.consensus.messages import (
    AppendEntries,
    AppendEntriesResponse,
    HardState,
    PreVote,
    PreVoteResponse,
    RequestVote,
    RequestVoteResponse,
)
from dskata.consensus.sim import Cluster

KATA = "raft-election"


def _role(node: Any) -> str:
    role = node.role
    return str(getattr(role, "value", role))


def _node(impl: Any, i: int = 0, n: int = 3, **kw: Any) -> Any:
    return impl.RaftNode(i, [p for p in range(n) if p != i], **kw)


def _votes(ready: Any) -> list[bool]:
    return [m.vote_granted for m in ready.messages if isinstance(m, RequestVoteResponse)]


def _leader(impl: Any, n: int = 3) -> Any:
    r = _node(impl, n=n, election_timeout=(100, 200))
    r.tick(r.deadline)
    for p in range(1, n):
        if _role(r) == "leader":
            break
        r.step(RequestVoteResponse(p, 0, r.term, True), r.deadline - 1)
    assert _role(r) == "leader", f"got role {_role(r)!r} after votes from a majority"
    return r


# --------------------------------------------------------------------------- step 1


@pytest.mark.kata_step(1, "terms: a higher term makes any role a follower")
def test_a_fresh_node_is_a_follower_of_term_zero(impl: Any) -> None:
    """A new node starts as a follower in term 0 with no vote (Raft Figure 2)."""
    r = _node(impl)
    assert (_role(r), r.term, r.voted_for) == ("follower", 0, None), (
        f"got ({_role(r)!r}, {r.term}, {r.voted_for}), expected ('follower', 0, None)"
    )


@pytest.mark.kata_step(1, "terms: a higher term makes any role a follower")
@pytest.mark.parametrize("start", ["follower", "candidate", "leader"])
def test_a_higher_term_makes_any_role_a_follower(impl: Any, start: str) -> None:
    """Raft §5.1: any message with a higher term: adopt it, clear the vote, become follower."""
    r = _node(impl, election_timeout=(100, 200))
    if start == "candidate":
        r.tick(r.deadline)
    elif start == "leader":
        r = _leader(impl)
    t = r.term + 3
    ready = r.step(AppendEntriesResponse(1, 0, t, False), 1.0)
    assert _role(r) == "follower", f"a {start} saw term {t}: got role {_role(r)!r}"
    assert r.term == t and r.voted_for is None
    assert ready.persist == HardState(t, None), (
        f"the new term must be persisted, got {ready.persist}"
    )


@pytest.mark.kata_step(1, "terms: a higher term makes any role a follower")
def test_a_stale_term_message_is_answered_with_the_current_term_and_ignored(impl: Any) -> None:
    """Raft §5.1: a request with an older term is rejected; nothing changes."""
    r = _node(impl, hard_state=HardState(5, None))
    ready = r.step(AppendEntries(1, 0, 4), 1.0)
    (resp,) = ready.messages
    assert isinstance(resp, AppendEntriesResponse) and resp.term == 5 and not resp.success
    assert r.leader_id is None and r.term == 5 and ready.persist is None


# --------------------------------------------------------------------------- step 2


@pytest.mark.kata_step(2, "the election timer")
def test_a_follower_becomes_candidate_when_its_timeout_fires(impl: Any) -> None:
    """Raft §5.2: at the timeout, increment the term, vote for self, ask every peer."""
    r = _node(impl, n=5)
    assert r.tick(r.deadline - 0.01).messages == [], "nothing happens before the deadline"
    ready = r.tick(r.deadline)
    assert _role(r) == "candidate" and r.term == 1 and r.voted_for == 0
    assert ready.persist == HardState(1, 0), "term and vote are persisted before RequestVote"
    dsts = sorted(m.dst for m in ready.messages if isinstance(m, RequestVote))
    assert dsts == [1, 2, 3, 4], f"RequestVote sent to {dsts}, expected every peer"


@pytest.mark.kata_step(2, "the election timer")
def test_timeouts_are_random_and_cover_the_range(impl: Any) -> None:
    """Raft §5.2: each node draws its timeout uniformly from the range, from its seed."""
    draws = [_node(impl, seed=s, election_timeout=(150, 300)).deadline for s in range(300)]
    assert 150 <= min(draws) < 160 and 290 < max(draws) <= 300, (min(draws), max(draws))
    again = [_node(impl, seed=s, election_timeout=(150, 300)).deadline for s in range(5)]
    assert again == draws[:5], "the same seed must give the same timeout"


@pytest.mark.kata_step(2, "the election timer")
def test_heartbeats_keep_a_follower_from_starting_elections(impl: Any) -> None:
    """Raft §5.2: a valid AppendEntries resets the election timer."""
    r = _node(impl)
    for _ in range(10):
        t = r.deadline - 1
        r.step(AppendEntries(1, 0, 1), t)
        r.tick(t)
    assert _role(r) == "follower" and r.leader_id == 1


# --------------------------------------------------------------------------- step 3


@pytest.mark.kata_step(3, "one vote per term, persisted")
def test_a_node_votes_once_per_term(impl: Any) -> None:
    """Raft §5.2: first come, first served; a different candidate in the same term is refused."""
    r = _node(impl, n=5)
    a = r.step(RequestVote(1, 0, 1, 0, 0), 1.0)
    b = r.step(RequestVote(2, 0, 1, 0, 0), 2.0)
    assert _votes(a) + _votes(b) == [True, False]
    assert a.persist == HardState(1, 1), f"the vote must be persisted first, got {a.persist}"


@pytest.mark.kata_step(3, "one vote per term, persisted")
def test_a_restarted_node_does_not_vote_twice(impl: Any) -> None:
    """Raft Figure 2: votedFor is persistent. (Catches: voting twice after a restart.)"""
    r = _node(impl, n=5)
    hs = r.step(RequestVote(1, 0, 4, 0, 0), 1.0).persist
    again = _node(impl, n=5, hard_state=hs)
    assert _votes(again.step(RequestVote(2, 0, 4, 0, 0), 2.0)) == [False]
    assert _votes(again.step(RequestVote(1, 0, 4, 0, 0), 2.0)) == [True]


# --------------------------------------------------------------------------- step 4


@pytest.mark.kata_step(4, "the up-to-date log check")
@pytest.mark.parametrize(
    ("cand", "granted"), [((3, 2), True), ((2, 2), False), ((1, 3), True), ((9, 1), False)]
)
def test_a_voter_refuses_a_less_up_to_date_candidate(
    impl: Any, cand: tuple[int, int], granted: bool
) -> None:
    """Raft §5.4.1: compare last terms; if equal, the longer log is more up-to-date."""
    r = _node(impl, log_terms=(1, 1, 2), hard_state=HardState(2, None))
    ready = r.step(RequestVote(1, 0, 3, cand[0], cand[1]), 1.0)
    assert _votes(ready) == [granted], f"candidate last (index, term) = {cand}, voter (3, 2)"


@pytest.mark.kata_step(4, "the up-to-date log check")
def test_request_vote_carries_the_last_log_entry(impl: Any) -> None:
    """Raft §5.4.1: RequestVote carries lastLogIndex and lastLogTerm."""
    r = _node(impl, log_terms=(1, 2, 2))
    reqs = [m for m in r.tick(r.deadline).messages if isinstance(m, RequestVote)]
    assert reqs and all((m.last_log_index, m.last_log_term) == (3, 2) for m in reqs)


# --------------------------------------------------------------------------- step 5


@pytest.mark.kata_step(5, "winning and losing elections")
def test_a_majority_of_votes_makes_a_leader_that_heartbeats(impl: Any) -> None:
    """Raft §5.2: a majority wins; the new leader sends empty AppendEntries at once."""
    r = _node(impl, n=5)
    r.tick(r.deadline)
    now = r.deadline - 1
    r.step(RequestVoteResponse(1, 0, 1, True), now)
    r.step(RequestVoteResponse(1, 0, 1, True), now)  # a duplicate is still one vote
    assert _role(r) == "candidate", "2 distinct votes of 5 are not a majority"
    ready = r.step(RequestVoteResponse(2, 0, 1, True), now)
    assert _role(r) == "leader"
    hb = sorted(m.dst for m in ready.messages if isinstance(m, AppendEntries))
    assert hb == [1, 2, 3, 4], f"heartbeats went to {hb}"


@pytest.mark.kata_step(5, "winning and losing elections")
def test_a_candidate_steps_down_on_append_entries_of_its_own_term(impl: Any) -> None:
    """Raft §5.2: a leader of the same term exists. (Catches: ignoring it.)"""
    r = _node(impl)
    r.tick(r.deadline)
    r.step(AppendEntries(2, 0, r.term), r.deadline - 1)
    assert _role(r) == "follower" and r.leader_id == 2 and r.term == 1


@pytest.mark.kata_step(5, "winning and losing elections")
def test_a_vote_from_an_earlier_term_does_not_count(impl: Any) -> None:
    """Raft §5.1: a delayed vote for an election already over is stale. (Catches: counting it.)"""
    r = _node(impl, n=3)
    r.tick(r.deadline)  # term 1
    r.tick(r.deadline)  # that election timed out: term 2
    assert r.term == 2 and _role(r) == "candidate"
    r.step(RequestVoteResponse(1, 0, 1, True), r.deadline - 1)
    assert _role(r) == "candidate", "a vote of term 1 made the candidate of term 2 leader"


@pytest.mark.kata_step(5, "winning and losing elections")
def test_a_candidate_denied_by_a_majority_falls_back(impl: Any) -> None:
    """Raft §5.2: a majority of denials means this election is lost."""
    r = _node(impl, n=3)
    r.tick(r.deadline)
    r.step(RequestVoteResponse(1, 0, 1, False), 1.0)
    r.step(RequestVoteResponse(2, 0, 1, False), 1.0)
    assert _role(r) == "follower" and r.term == 1


# --------------------------------------------------------------------------- step 6


def _fault_run(impl: Any, seed: int, **kw: Any) -> Cluster:
    rng = random.Random(seed)
    n = rng.choice((3, 5))
    c = Cluster(
        n,
        seed=seed,
        node_class=impl.RaftNode,
        election_timeout=(10, 20),
        delay=(0.2, rng.choice((2.0, 8.0))),
        loss=rng.choice((0.0, 0.1, 0.3)),
        duplicate=rng.choice((0.0, 0.2)),
        disk=(0.1, 2.0),
        logs=[
            tuple(sorted(rng.choice((1, 2)) for _ in range(rng.randint(0, 2)))) for _ in range(n)
        ],
        **kw,
    )
    for _ in range(8):
        c.run_for(rng.uniform(5, 30))
        x = rng.randrange(n)
        if rng.random() < 0.4:
            if c.is_up(x):
                c.crash(x)
            else:
                c.restart(x)
        elif rng.random() < 0.5:
            c.partition([x], [i for i in range(n) if i != x])
        else:
            c.heal()
    c.heal()
    for i in range(n):
        if not c.is_up(i):
            c.restart(i)
    c.run_for(100)
    return c


@pytest.mark.kata_step(6, "one leader per term under faults")
def test_a_three_node_cluster_elects_a_leader(impl: Any) -> None:
    """The node class, on the simulator, elects exactly one leader in a calm network."""
    c = Cluster(3, seed=1, node_class=impl.RaftNode)
    c.run_for(2_000)
    leaders = [e for e in c.history if e.kind == "leader"]
    assert len(leaders) == 1, f"got {len(leaders)} leader elections, expected 1"


@pytest.mark.kata_step(6, "one leader per term under faults")
def test_random_fault_schedules_keep_election_safety(impl: Any) -> None:
    """Raft Figure 3: over 150 random fault schedules, no invariant is ever broken."""
    for seed in range(150):
        c = _fault_run(impl, seed)
        found = check_history(c.history, n=c.n)
        assert not found, found[0].report(c.history, seed)


# --------------------------------------------------------------------------- step 7


@pytest.mark.kata_step(7, "Pre-Vote")
def test_prevote_asks_without_changing_the_term(impl: Any) -> None:
    """Raft thesis §9.6: a pre-candidate asks for term+1 but keeps its term and vote."""
    r = _node(impl, prevote=True, hard_state=HardState(4, None))
    ready = r.tick(r.deadline)
    pv = [m for m in ready.messages if isinstance(m, PreVote)]
    assert len(pv) == 2 and all(m.term == 5 for m in pv)
    assert r.term == 4 and r.voted_for is None and ready.persist is None


@pytest.mark.kata_step(7, "Pre-Vote")
def test_prevotes_from_a_majority_start_the_real_election(impl: Any) -> None:
    """Raft thesis §9.6: with a majority of pre-votes the node becomes a candidate."""
    r = _node(impl, prevote=True)
    r.tick(r.deadline)
    ready = r.step(PreVoteResponse(1, 0, 1, True), r.deadline - 1)
    assert _role(r) == "candidate" and r.term == 1
    assert any(isinstance(m, RequestVote) for m in ready.messages)


@pytest.mark.kata_step(7, "Pre-Vote")
def test_a_node_that_hears_its_leader_denies_prevote(impl: Any) -> None:
    """Raft thesis §9.6: a PreVote is refused within the minimum timeout of a heartbeat."""
    r = _node(impl, prevote=True, election_timeout=(100, 200))
    r.step(AppendEntries(1, 0, 1), 10.0)
    ready = r.step(PreVote(2, 0, 2, 9, 1), 20.0)
    resp = [m for m in ready.messages if isinstance(m, PreVoteResponse)]
    assert resp and not resp[0].vote_granted and r.term == 1


@pytest.mark.kata_step(7, "Pre-Vote")
def test_prevote_keeps_the_leader_under_partial_connectivity(impl: Any) -> None:
    """Raft thesis §9.6: a node that reaches only one follower cannot depose the leader."""
    c = Cluster(5, seed=3, node_class=impl.RaftNode, prevote=True, check_quorum=True)
    c.partition([0, 1, 2], [3], [4])
    lead = c.run_until_leader(timeout=5_000)
    assert lead in (0, 1, 2)
    c.run_for(500)
    c.heal()
    for a, b in ((0, 3), (0, 4), (1, 4), (2, 3), (3, 4)):
        c.block(a, b)
        c.block(b, a)
    mark = len(c.history)
    c.run_for(10_000)
    changes = [str(e) for e in c.history[mark:] if e.kind == "leader"]
    assert changes == [], f"leader changed: {changes[:3]}"
