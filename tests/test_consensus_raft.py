"""RaftNode, rule by rule, in the style of the paper's sections (etcd's raft_paper_test.go)."""

from __future__ import annotations

import math

import pytest

from dskata.consensus.messages import (
    AppendEntries,
    AppendEntriesResponse,
    HardState,
    PreVote,
    PreVoteResponse,
    RequestVote,
    RequestVoteResponse,
    TimeoutNow,
)
from dskata.consensus.raft import TRANSITIONS, RaftNode, Role


def node(i: int = 0, n: int = 3, **kw: object) -> RaftNode:
    return RaftNode(i, [p for p in range(n) if p != i], **kw)  # type: ignore[arg-type]


def elect(r: RaftNode) -> None:
    """Make ``r`` leader by timing out and collecting votes."""
    r.tick(r.deadline)
    for p in r.peers:
        if r.role is Role.LEADER:
            break
        r.step(RequestVoteResponse(p, r.id, r.term, True), r.deadline - 1)
    assert r.role is Role.LEADER
    r._check()


def make_role(role: Role) -> RaftNode:
    r = node(check_quorum=False)
    if role is Role.CANDIDATE:
        r.tick(r.deadline)
    elif role is Role.LEADER:
        elect(r)
    elif role is Role.PRE_CANDIDATE:
        r = node(prevote=True)
        r.tick(r.deadline)
    assert r.role is role
    return r


@pytest.mark.parametrize("role", list(Role))
def test_a_higher_term_in_any_message_makes_any_role_a_follower(role: Role) -> None:
    """Raft §5.1: a server that sees a higher term updates its term and reverts to follower."""
    r = make_role(role)
    new_term = r.term + 5
    ready = r.step(AppendEntriesResponse(1, 0, new_term, False), r.deadline - 1)
    assert r.role is Role.FOLLOWER
    assert r.term == new_term
    assert ready.persist == HardState(new_term, None), "the new term is persisted"
    assert r.voted_for is None
    r._check()


def test_a_stale_term_append_entries_is_rejected_and_ignored() -> None:
    """Raft §5.1: a request with a stale term is rejected; the receiver's state is unchanged."""
    r = node(hard_state=HardState(5, None))
    deadline = r.deadline
    ready = r.step(AppendEntries(1, 0, 3), 10.0)
    assert [type(m) for m in ready.messages] == [AppendEntriesResponse]
    resp = ready.messages[0]
    assert isinstance(resp, AppendEntriesResponse)
    assert (resp.term, resp.success) == (5, False)
    assert (r.term, r.role, r.leader_id, r.deadline) == (5, Role.FOLLOWER, None, deadline)
    assert ready.persist is None


def test_a_stale_term_request_vote_is_denied() -> None:
    """Raft §5.1: RequestVote from an older term gets no vote and the current term."""
    r = node(hard_state=HardState(5, None))
    resp = r.step(RequestVote(1, 0, 4, 0, 0), 1.0).messages[0]
    assert isinstance(resp, RequestVoteResponse)
    assert (resp.term, resp.vote_granted, r.voted_for) == (5, False, None)


def test_a_follower_starts_an_election_after_its_timeout() -> None:
    """Raft §5.2: no heartbeat within the election timeout: new term, self vote, RequestVote."""
    r = node(n=5, log_terms=(1, 1, 2))
    assert r.tick(r.deadline - 0.001).messages == []
    ready = r.tick(r.deadline)
    assert r.role is Role.CANDIDATE and r.term == 3 and r.voted_for == 0
    assert ready.persist == HardState(3, 0), "term and vote must be persisted before sending"
    assert sorted(m.dst for m in ready.messages) == [1, 2, 3, 4]
    for m in ready.messages:
        assert isinstance(m, RequestVote)
        assert (m.term, m.last_log_index, m.last_log_term) == (3, 3, 2)
    r._check()


def test_a_heartbeat_resets_the_election_timer() -> None:
    """Raft §5.2: a follower stays a follower while it receives heartbeats."""
    r = node()
    t = 0.0
    for _ in range(20):
        t = r.deadline - 1.0
        r.step(AppendEntries(1, 0, 1), t)
        assert r.tick(t).messages == [] and r.role is Role.FOLLOWER
    assert r.leader_id == 1


def test_a_candidate_wins_with_votes_from_a_majority() -> None:
    """Raft §5.2: a candidate that wins a majority becomes leader and sends heartbeats."""
    r = node(n=5)
    r.tick(r.deadline)
    now = r.deadline - 1
    assert r.step(RequestVoteResponse(1, 0, 1, True), now).messages == []
    assert r.role is Role.CANDIDATE, "2 of 5 votes is not a majority"
    ready = r.step(RequestVoteResponse(2, 0, 1, True), now)
    assert r.role is Role.LEADER
    assert sorted(m.dst for m in ready.messages) == [1, 2, 3, 4]
    assert all(isinstance(m, AppendEntries) and not m.entries for m in ready.messages)
    r._check()


def test_duplicate_votes_from_one_voter_count_once() -> None:
    """Raft §5.2: a majority of distinct servers is needed; a duplicated reply is one vote."""
    r = node(n=5)
    r.tick(r.deadline)
    for _ in range(3):
        r.step(RequestVoteResponse(1, 0, 1, True), r.deadline - 1)
    assert r.role is Role.CANDIDATE


def test_a_candidate_falls_back_to_follower_on_a_majority_of_denials() -> None:
    """Raft §5.2: a candidate denied by a majority has lost this election and waits."""
    r = node(n=5)
    r.tick(r.deadline)
    deadline = r.deadline
    for p in (1, 2):
        r.step(RequestVoteResponse(p, 0, 1, False), 1.0)
        assert r.role is Role.CANDIDATE
    r.step(RequestVoteResponse(3, 0, 1, False), 1.0)
    assert r.role is Role.FOLLOWER and r.term == 1 and r.voted_for == 0
    assert r.deadline == deadline, "the election timer keeps running"
    r._check()


def test_one_vote_per_term_first_come_first_served() -> None:
    """Raft §5.2: each server votes for at most one candidate in a given term."""
    r = node(n=5)
    first = r.step(RequestVote(1, 0, 1, 0, 0), 1.0)
    assert first.persist == HardState(1, 1)
    second = r.step(RequestVote(2, 0, 1, 0, 0), 2.0)
    assert [m.vote_granted for m in first.messages + second.messages] == [True, False]  # type: ignore[attr-defined]
    again = r.step(RequestVote(1, 0, 1, 0, 0), 3.0)
    assert again.messages[0].vote_granted, "a repeated request from the same candidate is granted"  # type: ignore[attr-defined]


def test_the_vote_survives_a_restart() -> None:
    """Raft Figure 2: votedFor is persistent, so a restarted server does not vote twice."""
    r = node(n=5)
    persisted = r.step(RequestVote(1, 0, 1, 0, 0), 1.0).persist
    assert isinstance(persisted, HardState)
    restarted = node(n=5, hard_state=persisted)
    resp = restarted.step(RequestVote(2, 0, 1, 0, 0), 2.0).messages[0]
    assert isinstance(resp, RequestVoteResponse) and not resp.vote_granted


def test_granting_a_vote_resets_the_election_timer() -> None:
    """Raft Figure 2 (Rules for Followers): granting a vote restarts the election timeout."""
    r = node(election_timeout=(100, 100))
    r.step(RequestVote(1, 0, 1, 0, 0), 60.0)
    assert r.deadline == 160.0


def test_a_candidate_steps_down_on_append_entries_of_its_own_term() -> None:
    """Raft §5.2: a candidate receiving AppendEntries from a leader of its term steps down."""
    r = node()
    r.tick(r.deadline)
    ready = r.step(AppendEntries(2, 0, r.term), r.deadline - 1)
    assert r.role is Role.FOLLOWER and r.leader_id == 2 and r.term == 1
    resp = ready.messages[0]
    assert isinstance(resp, AppendEntriesResponse) and resp.term == 1
    r._check()


def test_election_timeouts_cover_the_whole_range() -> None:
    """Raft §5.2: timeouts are drawn uniformly from [lo, hi], so they spread over the range."""
    draws = [RaftNode(0, [1, 2], election_timeout=(150, 300), seed=s).deadline for s in range(400)]
    assert min(draws) >= 150 and max(draws) <= 300
    assert min(draws) < 155 and max(draws) > 295, (min(draws), max(draws))
    for lo in range(150, 300, 30):  # every fifth of the range is hit
        assert any(lo <= d < lo + 30 for d in draws)


def test_each_new_election_draws_a_new_timeout() -> None:
    """Raft §5.2: a candidate re-randomises its timeout for every new election."""
    r = node(election_timeout=(150, 300), seed=3)
    gaps = []
    for _ in range(30):
        t = r.deadline
        r.tick(t)
        gaps.append(r.deadline - t)
    assert len({round(g, 6) for g in gaps}) == len(gaps)
    assert r.term == 30


@pytest.mark.parametrize(
    ("cand", "voter", "granted"),
    [
        ((3, 2), (3, 2), True),  # identical logs
        ((4, 2), (3, 2), True),  # same last term, longer
        ((2, 2), (3, 2), False),  # same last term, shorter
        ((1, 3), (5, 2), True),  # later last term wins over length
        ((9, 1), (1, 2), False),  # earlier last term loses despite length
    ],
)
def test_a_voter_refuses_a_candidate_with_a_less_up_to_date_log(
    cand: tuple[int, int], voter: tuple[int, int], granted: bool
) -> None:
    """Raft §5.4.1: vote only for a candidate whose log is at least as up-to-date."""
    idx, term = voter
    log = tuple([1] * (idx - 1) + [term]) if term > 1 else tuple([1] * idx)
    r = node(log_terms=log, hard_state=HardState(5, None))
    resp = r.step(RequestVote(1, 0, 6, cand[0], cand[1]), 1.0).messages[0]
    assert isinstance(resp, RequestVoteResponse)
    assert resp.vote_granted is granted
    assert r.term == 6, "the term is adopted even when the vote is refused"


def test_a_node_with_a_shorter_log_cannot_be_elected() -> None:
    """Raft §5.4.1: with two of three voters ahead, the short-log candidate never wins."""
    r = node(log_terms=(1,), hard_state=HardState(1, None))
    r.tick(r.deadline)
    for p, peer_log in ((1, (1, 1)), (2, (1, 1))):
        voter = node(p, log_terms=peer_log, hard_state=HardState(1, None))
        req = RequestVote(0, p, r.term, r.last_log_index, r.last_log_term)
        resp = voter.step(req, 1.0).messages[0]
        r.step(resp, 1.0)
    assert r.role is Role.FOLLOWER


def test_the_leader_sends_heartbeats_every_interval() -> None:
    """Raft §5.2: a leader sends periodic empty AppendEntries to keep its authority."""
    r = node(heartbeat_interval=50)
    elect(r)
    start = r.deadline - 50
    sent = 0
    for k in range(1, 5):
        ready = r.tick(start + 50 * k)
        sent += len(ready.messages)
        assert r.deadline == start + 50 * (k + 1)
    assert sent == 4 * 2


def test_check_quorum_makes_an_isolated_leader_step_down() -> None:
    """Raft thesis §6.2: a leader that hears from no majority for a timeout steps down."""
    r = node(n=3, check_quorum=True, election_timeout=(100, 200))
    elect(r)
    t = r.deadline
    while r.role is Role.LEADER and t < 1000:
        r.tick(t)
        t = r.deadline
    assert r.role is Role.FOLLOWER and t < 1000


def test_check_quorum_keeps_a_leader_that_hears_from_a_majority() -> None:
    """Raft thesis §6.2: heartbeat responses from a majority keep the leader in place."""
    r = node(n=3, check_quorum=True, election_timeout=(100, 200))
    elect(r)
    t = r.deadline
    for _ in range(50):
        r.step(AppendEntriesResponse(1, 0, r.term, True), t)
        r.tick(t)
        t = r.deadline
    assert r.role is Role.LEADER


def test_the_leader_lease_ignores_request_vote_while_a_leader_is_heard() -> None:
    """Raft thesis §4.2.3: within the minimum timeout of a heartbeat, RequestVote is ignored."""
    r = node(check_quorum=True, election_timeout=(100, 200))
    r.step(AppendEntries(1, 0, 1), 10.0)
    resp = r.step(RequestVote(2, 0, 7, 0, 0), 50.0).messages[0]
    assert isinstance(resp, RequestVoteResponse) and not resp.vote_granted
    assert r.term == 1, "the term is not adopted inside the lease"
    resp = r.step(RequestVote(2, 0, 7, 0, 0), 111.0).messages[0]
    assert isinstance(resp, RequestVoteResponse) and resp.vote_granted and r.term == 7


def test_a_node_that_left_its_leader_is_no_longer_in_its_lease() -> None:
    """Thesis §4.2.3: the lease guards a *current* leader; a candidate has none, so it hears a
    higher-term RequestVote even within the minimum timeout of the last heartbeat."""
    r = node(check_quorum=True, election_timeout=(100, 200))
    r.step(AppendEntries(1, 0, 1), 10.0)
    r.campaign(20.0)
    assert r.role is Role.CANDIDATE and r.term == 2
    resp = r.step(RequestVote(2, 0, 3, 0, 0), 30.0).messages[0]
    assert isinstance(resp, RequestVoteResponse) and resp.vote_granted and r.term == 3


def test_prevote_does_not_increase_the_term() -> None:
    """Raft thesis §9.6: a pre-candidate asks for term+1 without changing its own term."""
    r = node(prevote=True, log_terms=(1,), hard_state=HardState(1, None))
    ready = r.tick(r.deadline)
    assert r.role is Role.PRE_CANDIDATE and r.term == 1 and ready.persist is None
    assert all(isinstance(m, PreVote) and m.term == 2 for m in ready.messages)
    r._check()


def test_prevote_majority_starts_the_real_election() -> None:
    """Raft thesis §9.6: with a majority of pre-votes the node becomes a candidate."""
    r = node(n=3, prevote=True)
    r.tick(r.deadline)
    ready = r.step(PreVoteResponse(1, 0, 1, True), r.deadline - 1)
    assert r.role is Role.CANDIDATE and r.term == 1 and ready.persist == HardState(1, 0)
    assert all(isinstance(m, RequestVote) for m in ready.messages)


def test_a_pre_candidate_denied_by_a_majority_falls_back_to_follower() -> None:
    """Raft thesis §9.6: denials of the pre-candidate's own term end the pre-vote round."""
    r = node(n=5, prevote=True, hard_state=HardState(3, None))
    r.tick(r.deadline)
    assert r.role is Role.PRE_CANDIDATE
    roles = []
    for voter in (1, 2, 3):
        ready = r.step(PreVoteResponse(voter, 0, 3, False), r.deadline - 1)
        roles.append(r.role)
    assert roles == [Role.PRE_CANDIDATE, Role.PRE_CANDIDATE, Role.FOLLOWER], (
        "2 denials of 5 are not a majority; 3 are"
    )
    assert r.term == 3 and ready.persist is None
    r._check()


def test_votes_from_outside_the_cluster_do_not_count() -> None:
    """Raft §5.2: a majority of the cluster's servers; a stranger's vote or pre-vote is no vote."""
    r = node(n=3)
    r.tick(r.deadline)
    r.step(RequestVoteResponse(9, 0, 1, True), r.deadline - 1)
    assert r.role is Role.CANDIDATE
    p = node(n=3, prevote=True)
    p.tick(p.deadline)
    p.step(PreVoteResponse(9, 0, 1, True), p.deadline - 1)
    assert p.role is Role.PRE_CANDIDATE and p.term == 0


def test_a_node_that_hears_a_leader_denies_prevote_and_keeps_its_state() -> None:
    """Raft thesis §9.6: a PreVote is denied while a leader is heard; nothing is persisted."""
    r = node(prevote=True, election_timeout=(100, 200))
    r.step(AppendEntries(1, 0, 1), 10.0)
    ready = r.step(PreVote(2, 0, 2, 5, 1), 20.0)
    resp = ready.messages[0]
    assert isinstance(resp, PreVoteResponse) and not resp.vote_granted
    assert (r.term, r.voted_for, ready.persist) == (1, None, None)
    ready = r.step(PreVote(2, 0, 2, 5, 1), 200.0)
    assert ready.messages[0].vote_granted and r.term == 1 and r.voted_for is None  # type: ignore[attr-defined]


def test_leadership_transfer_makes_the_target_campaign_at_once() -> None:
    """Raft thesis §3.10: TimeoutNow makes the target start an election immediately."""
    leader = node(0, check_quorum=True)
    elect(leader)
    ready = leader.transfer_leadership(1, 5.0)
    (msg,) = ready.messages
    assert isinstance(msg, TimeoutNow) and msg.dst == 1
    target = node(1, check_quorum=True)
    target.step(AppendEntries(0, 1, leader.term), 4.0)
    out = target.step(msg, 5.0)
    assert target.role is Role.CANDIDATE and target.term == leader.term + 1
    req = out.messages[0]
    assert isinstance(req, RequestVote) and req.transfer
    voter = node(2, check_quorum=True)
    voter.step(AppendEntries(0, 2, leader.term), 4.5)
    resp = voter.step(RequestVote(1, 2, req.term, 0, 0, transfer=True), 5.5).messages[0]
    assert isinstance(resp, RequestVoteResponse) and resp.vote_granted, "transfer skips the lease"


def test_only_a_leader_can_transfer_to_a_peer() -> None:
    """Leadership transfer validates its caller and target before doing anything."""
    r = node()
    with pytest.raises(ValueError, match="only a leader"):
        r.transfer_leadership(1, 0.0)
    elect(r)
    with pytest.raises(ValueError, match="target must be one of the peers"):
        r.transfer_leadership(7, 0.0)


def test_the_transition_table_is_what_become_methods_follow() -> None:
    """House rule 3: roles and transitions are data; a leader can only step down."""
    assert TRANSITIONS[Role.LEADER] == frozenset({Role.FOLLOWER})
    assert Role.LEADER not in TRANSITIONS[Role.FOLLOWER]
    r = make_role(Role.LEADER)
    with pytest.raises(AssertionError, match="illegal transition"):
        r.become_candidate(1.0)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"election_timeout": (300, 150)}, ValueError, "election_timeout"),
        ({"election_timeout": (0, 150)}, ValueError, "election_timeout"),
        ({"election_timeout": 150}, TypeError, "election_timeout"),
        ({"heartbeat_interval": 0}, ValueError, "heartbeat_interval"),
        ({"heartbeat_interval": "50"}, TypeError, "heartbeat_interval"),
        ({"heartbeat_interval": math.nan}, ValueError, "heartbeat_interval"),
        ({"log_terms": (2, 1)}, ValueError, "log_terms"),
        ({"seed": "x"}, TypeError, "seed"),
        ({"hard_state": (1, None)}, TypeError, "hard_state"),
    ],
)
def test_bad_constructor_arguments_are_rejected_with_their_name(
    kwargs: dict[str, object], exc: type[Exception], match: str
) -> None:
    """Bad input raises an error naming the parameter and the value."""
    with pytest.raises(exc, match=match):
        node(**kwargs)


def test_a_message_for_another_node_is_rejected_before_any_change() -> None:
    """step() checks the destination before touching state."""
    r = node()
    with pytest.raises(ValueError, match="delivered to node 0"):
        r.step(AppendEntries(1, 2, 9), 1.0)
    assert r.term == 0
    with pytest.raises(TypeError, match="cannot handle"):
        r.step(object(), 1.0)  # type: ignore[arg-type]


def test_a_single_node_cluster_elects_itself() -> None:
    """A cluster of one is its own majority."""
    r = RaftNode(0, [])
    r.tick(r.deadline)
    assert r.role is Role.LEADER and r.term == 1
    assert math.isfinite(r.deadline)
    r._check()


def test_a_voters_later_pre_vote_answer_replaces_its_earlier_one() -> None:
    """Thesis §9.6: pre-votes carry no round, so a late grant and a fresh denial from one voter
    must count once (the latest), never as both."""
    from dskata.consensus.messages import PreVoteResponse

    node = RaftNode(0, [0, 1, 2, 3, 4], seed=1, prevote=True)
    node.tick(node.deadline)  # timer fires: a pre-vote round for term 1
    assert node.role is Role.PRE_CANDIDATE
    node.step(PreVoteResponse(src=1, dst=0, term=1, vote_granted=True), node.deadline - 1)
    node.step(PreVoteResponse(src=1, dst=0, term=0, vote_granted=False), node.deadline - 1)
    node._check()
    assert node.role is Role.PRE_CANDIDATE
