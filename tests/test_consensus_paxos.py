"""Synod roles and Paxos leader election, rule by rule (Paxos Made Simple §2)."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from dskata.consensus.messages import Accept, Accepted, Ballot, Heartbeat, Nack, Prepare, Promise
from dskata.consensus.paxos import (
    Acceptor,
    AcceptorState,
    Learner,
    PaxosDurable,
    PaxosNode,
    PaxosRole,
    Proposer,
)

B = Ballot


def test_an_acceptor_promises_monotonically_and_persists_first() -> None:
    """Paxos Made Simple §2.2 (P1a): a promise is never broken; it is persisted before replying."""
    a = Acceptor(0, [0, 1, 2])
    r = a.on_prepare(Prepare(1, 0, 0, B(2, 1)))
    assert r.persist == AcceptorState(B(2, 1), None, None)
    assert isinstance(r.messages[0], Promise)
    low = a.on_prepare(Prepare(2, 0, 0, B(1, 2)))
    assert isinstance(low.messages[0], Nack) and low.persist is None
    assert a.promised == B(2, 1)
    refused = a.on_accept(Accept(2, 0, 0, B(1, 2), "v"))
    assert isinstance(refused.messages[0], Nack) and a.accepted_ballot is None
    a._check()


def test_an_acceptor_accepts_at_or_above_its_promise_and_tells_every_learner() -> None:
    """Paxos Made Simple §2.2: accept unless a higher ballot was promised."""
    a = Acceptor(0, [0, 1, 2])
    a.on_prepare(Prepare(1, 0, 0, B(2, 1)))
    r = a.on_accept(Accept(1, 0, 0, B(2, 1), "v"))
    assert r.persist == AcceptorState(B(2, 1), B(2, 1), "v")
    assert sorted(m.dst for m in r.messages) == [0, 1, 2]
    assert all(isinstance(m, Accepted) and m.value == "v" for m in r.messages)
    a._check()


def test_a_restarted_acceptor_keeps_its_promise() -> None:
    """Acceptor state is durable: a restart must not forget a promise."""
    a = Acceptor(0, [0, 1, 2])
    st_ = a.on_prepare(Prepare(1, 0, 0, B(5, 1))).persist
    assert isinstance(st_, AcceptorState)
    b = Acceptor(0, [0, 1, 2], st_)
    assert isinstance(b.on_prepare(Prepare(2, 0, 0, B(4, 2))).messages[0], Nack)


def test_the_proposer_adopts_the_highest_numbered_accepted_value_not_the_most_frequent() -> None:
    """Paxos Made Simple §2.2 (P2c): the value of the highest-numbered accepted proposal wins."""
    p = Proposer(0, [0, 1, 2, 3, 4], "mine")
    p.prepare()
    b = p.ballot
    assert b is not None
    p.on_promise(Promise(1, 0, 0, b, B(1, 3), "old"))
    p.on_promise(Promise(2, 0, 0, b, B(1, 3), "old"))
    out = p.on_promise(Promise(3, 0, 0, b, B(2, 4), "newer"))
    assert out.messages and all(isinstance(m, Accept) for m in out.messages)
    assert p.value == "newer"


def test_the_proposer_uses_its_own_value_when_nothing_was_accepted() -> None:
    """P2c: with no accepted proposal among the promises, any value (its own) is safe."""
    p = Proposer(1, [0, 1, 2], "mine")
    p.prepare()
    assert p.ballot is not None
    for src in (0, 2):
        out = p.on_promise(Promise(src, 1, 0, p.ballot, None, None))
    assert p.value == "mine" and len(out.messages) == 3


def test_promises_for_another_ballot_are_not_counted() -> None:
    """A promise counts only for the ballot it answers."""
    p = Proposer(0, [0, 1, 2], "x")
    p.prepare()
    stale = B(0, 0)
    assert p.on_promise(Promise(1, 0, 0, stale, None, None)).messages == []
    assert p.on_promise(Promise(2, 0, 0, stale, None, None)).messages == []
    assert p.phase == "prepare"


def test_a_nack_makes_the_next_ballot_higher_than_the_promise_seen() -> None:
    """After pre-emption, the retry uses a round above the competing ballot."""
    p = Proposer(0, [0, 1, 2], "x")
    p.prepare()
    b = p.ballot
    assert b is not None
    assert p.on_nack(Nack(1, 0, 0, b, B(9, 2)))
    p.prepare()
    assert p.ballot is not None and p.ballot > B(9, 2) and p.ballot.node == 0
    p._check()


def test_the_learner_counts_per_ballot_not_across_ballots() -> None:
    """Paxos Made Simple §2.3: a majority must accept under the same ballot."""
    lr = Learner(0, [0, 1, 2])
    assert not lr.on_accepted(Accepted(0, 0, 0, B(1, 0), "a"))
    assert not lr.on_accepted(Accepted(1, 0, 0, B(2, 1), "a"))
    assert lr.chosen is None, "two acceptances under different ballots are not a majority"
    assert lr.on_accepted(Accepted(2, 0, 0, B(2, 1), "a"))
    assert lr.chosen == "a"
    lr._check()


def test_duplicate_acceptances_count_once() -> None:
    """A duplicated Accepted from one acceptor is one acceptance."""
    lr = Learner(0, [0, 1, 2])
    for _ in range(3):
        lr.on_accepted(Accepted(1, 0, 0, B(1, 1), "a"))
    assert lr.chosen is None


def test_synod_roles_validate_their_arguments() -> None:
    """Bad membership and values are rejected with the parameter's name."""
    with pytest.raises(ValueError, match="value"):
        Proposer(0, [0, 1, 2], None)
    with pytest.raises(ValueError, match="acceptors"):
        Learner(0, [])
    with pytest.raises(ValueError, match="learners"):
        Acceptor(0, [1, 1])
    with pytest.raises(TypeError, match="state"):
        Acceptor(0, [0], state=(1, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="round must be >= 0"):
        Proposer(0, [0, 1, 2], "v", round=-1)
    with pytest.raises(TypeError, match="instance must be an int"):
        Learner(0, [0, 1, 2], instance="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="node_id must be an int"):
        Acceptor(None, [0, 1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"node_id": -1}, ValueError, "node_id must be >= 0"),
        ({"node_id": "0"}, TypeError, "node_id must be an int"),
        ({"heartbeat_interval": "50"}, TypeError, "heartbeat_interval"),
        ({"heartbeat_interval": -5}, ValueError, "heartbeat_interval"),
        ({"election_timeout": (20, 10)}, ValueError, "election_timeout"),
    ],
)
def test_a_paxos_node_rejects_bad_arguments_with_the_right_error(
    kwargs: dict[str, object], exc: type[Exception], match: str
) -> None:
    """A wrong type is a TypeError, a value out of range a ValueError, both naming it."""
    args: dict[str, object] = {"node_id": 0, **kwargs}
    node_id = args.pop("node_id")
    with pytest.raises(exc, match=match):
        PaxosNode(node_id, [1, 2], **args)  # type: ignore[arg-type]


def test_a_paxos_node_proposes_itself_for_the_next_epoch_and_persists_its_round() -> None:
    """Leader election by epoch: a timeout proposes this node for epoch + 1."""
    n = PaxosNode(2, [0, 1], seed=0)
    ready = n.tick(n.deadline)
    assert n.role is PaxosRole.CANDIDATE
    assert isinstance(ready.persist, PaxosDurable) and ready.persist.round == 1
    assert {(m.instance, m.ballot) for m in ready.messages} == {(1, B(1, 2))}  # type: ignore[attr-defined]
    n._check()


def test_a_paxos_node_follows_the_chosen_leader_and_its_heartbeats() -> None:
    """When an epoch's value is chosen, every node follows that leader."""
    n = PaxosNode(0, [1, 2], seed=0)
    for src in (1, 2):
        n.step(Accepted(src, 0, 1, B(1, 1), 1), 5.0)
    assert n.epoch == 1 and n.leader_id == 1 and n.role is PaxosRole.FOLLOWER
    deadline = n.deadline
    n.step(Heartbeat(1, 0, 1, 1), deadline - 1)
    assert n.deadline > deadline, "a heartbeat of the current epoch resets the timer"
    n._check()


def test_a_node_whose_id_is_chosen_becomes_leader() -> None:
    """The node named by the chosen value leads the epoch and heartbeats at once."""
    n = PaxosNode(0, [1, 2], seed=0)
    n.step(Accepted(1, 0, 1, B(1, 0), 0), 5.0)
    out = n.step(Accepted(2, 0, 1, B(1, 0), 0), 5.0)
    assert n.role is PaxosRole.LEADER
    assert sorted(m.dst for m in out.messages) == [1, 2]
    n._check()


def test_a_restarted_paxos_node_never_reuses_a_round() -> None:
    """The proposer's round is durable, so a ballot is never reused with another value."""
    n = PaxosNode(0, [1, 2], seed=0)
    d = n.tick(n.deadline).persist
    assert isinstance(d, PaxosDurable)
    again = PaxosNode(0, [1, 2], seed=0, durable=d)
    msgs = again.tick(again.deadline).messages
    assert all(m.ballot.round == 2 for m in msgs)  # type: ignore[attr-defined]


def test_paxos_step_rejects_foreign_messages() -> None:
    """Messages for another node or of another protocol raise before any change."""
    n = PaxosNode(0, [1, 2])
    with pytest.raises(ValueError, match="delivered to node 0"):
        n.step(Prepare(1, 2, 1, B(1, 1)), 0.0)
    with pytest.raises(TypeError, match="cannot handle"):
        n.step("prepare", 0.0)  # type: ignore[arg-type]


class _SynodModel(RuleBasedStateMachine):
    """Acceptors and learners under arbitrary interleavings of proposers' messages.

    Model: the set of values chosen so far must have at most one element, and be proposed.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ids = [0, 1, 2]
        self.acceptors = {i: Acceptor(i, self.ids) for i in self.ids}
        self.proposers = {i: Proposer(i, self.ids, f"v{i}") for i in self.ids}
        self.learner = Learner(9, self.ids)
        self.inbox: list[object] = []
        self.proposed: set[object] = set()
        self.chosen: set[object] = set()
        self.chosen_ballot: Ballot | None = None
        self.disk: dict[int, AcceptorState] = {}

    @rule(p=st.sampled_from([0, 1, 2]))
    def prepare(self, p: int) -> None:
        self.inbox.extend(self.proposers[p].prepare().messages)

    @rule(k=st.integers(0, 50), duplicate=st.booleans())
    def deliver(self, k: int, duplicate: bool) -> None:
        if not self.inbox:
            return
        msg = self.inbox[k % len(self.inbox)] if duplicate else self.inbox.pop(k % len(self.inbox))
        self._handle(msg)

    @rule(to=st.sampled_from([0, 1, 2]), kind=st.sampled_from([Prepare, Promise, Accept]))
    def deliver_all_of_a_kind_to_one_node(self, to: int, kind: type) -> None:
        # Bulk delivery reaches deep interleavings (two ballots racing) in few steps.
        batch = [m for m in self.inbox if isinstance(m, kind) and m.dst == to]  # type: ignore[attr-defined]
        self.inbox = [m for m in self.inbox if not any(m is b for b in batch)]
        for m in batch:
            self._handle(m)

    def _handle(self, msg: object) -> None:
        if isinstance(msg, Prepare):
            ready = self.acceptors[msg.dst].on_prepare(msg)
            self._persist(msg.dst, ready.persist)
            self.inbox.extend(ready.messages)
        elif isinstance(msg, Accept):
            self.proposed.add(msg.value)
            ready = self.acceptors[msg.dst].on_accept(msg)
            self._persist(msg.dst, ready.persist)
            for m in ready.messages:
                if isinstance(m, Accepted) and self.learner.on_accepted(m):
                    self.chosen.add(self.learner.chosen)
                    self.chosen_ballot = m.ballot
                self.inbox.append(m)
        elif isinstance(msg, Promise):
            self.inbox.extend(self.proposers[msg.dst].on_promise(msg).messages)
        elif isinstance(msg, Nack):
            self.proposers[msg.dst].on_nack(msg)

    def _persist(self, acceptor: int, state: object) -> None:
        if state is not None:
            assert isinstance(state, AcceptorState)
            self.disk[acceptor] = state

    @rule(a=st.sampled_from([0, 1, 2]))
    def restart_acceptor(self, a: int) -> None:
        # A crash loses everything but what was persisted with the replies already sent.
        self.acceptors[a] = Acceptor(a, self.ids, self.disk.get(a))

    @rule(k=st.integers(0, 50))
    def drop(self, k: int) -> None:
        if self.inbox:
            self.inbox.pop(k % len(self.inbox))

    @invariant()
    def at_most_one_value_is_chosen_and_it_was_proposed(self) -> None:
        for a in self.acceptors.values():
            a._check()
        self.learner._check()
        assert len(self.chosen) <= 1
        assert self.chosen <= self.proposed
        # P2b: once v is chosen at ballot b, every acceptance at a ballot >= b is of v.
        if self.chosen:
            (v,) = self.chosen
            b = self.chosen_ballot
            assert b is not None
            for a in self.acceptors.values():
                if a.accepted_ballot is not None and a.accepted_ballot >= b:
                    assert a.accepted_value == v, (a.accepted_ballot, a.accepted_value, v)


def test_synod_is_safe_under_any_interleaving_loss_duplication_and_restarts() -> None:
    """Stateful: whatever the delivery order and acceptor restarts, one value is chosen (P2)."""
    run_state_machine_as_test(
        _SynodModel, settings=settings(max_examples=100, stateful_step_count=40, deadline=None)
    )


def test_duelling_proposers_still_choose_a_leader() -> None:
    """Randomised back-off: with identical timeouts every node proposes at once, yet a leader
    is chosen within a few timeouts, for every seed tried."""
    from dskata.consensus.invariants import assert_invariants
    from dskata.consensus.sim import Cluster

    for seed in range(10):
        c = Cluster(5, protocol="paxos", election_timeout=(50, 50), delay=(1, 30), seed=seed)
        lead = c.run_until_leader(timeout=2_000)
        assert lead is not None, f"seed {seed}: no leader after 2 s"
        assert_invariants(c)


def test_a_paxos_candidate_backs_off_by_a_random_amount() -> None:
    """Retries are spread out (not synchronised) so duels end."""
    waits = set()
    for seed in range(20):
        n = PaxosNode(0, [1, 2], election_timeout=(100, 100), seed=seed)
        n.tick(n.deadline)
        waits.add(round(n.deadline - 100, 6))
    assert len(waits) == 20 and min(waits) >= 50 and max(waits) <= 150
