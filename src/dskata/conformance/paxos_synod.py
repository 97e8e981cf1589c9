"""Contract of the ``paxos-synod`` kata: acceptor, proposer and learner of single-decree Paxos.

The tests use only ``impl.Acceptor``, ``impl.Proposer`` and ``impl.Learner`` and the shared
messages of :mod:`dskata.consensus.messages`. Step 4 plugs the three classes into Paxos leader
election on the simulator (one Synod instance per epoch) and checks complete histories under
random loss, duplication, reordering and crashes.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from dskata.consensus.invariants import check_history
from dskata.consensus.messages import (
    Accept,
    Accepted,
    AcceptorState,
    Ballot,
    Nack,
    Prepare,
    Promise,
)
from dskata.consensus.sim import Cluster

KATA = "paxos-synod"

B = Ballot
IDS = [0, 1, 2]


# --------------------------------------------------------------------------- step 1


@pytest.mark.kata_step(1, "the acceptor")
def test_an_acceptor_promises_a_new_ballot_and_persists_the_promise(impl: Any) -> None:
    """Paxos Made Simple §2.2: answer a prepare with a promise, persisted before the reply."""
    a = impl.Acceptor(0, IDS)
    ready = a.on_prepare(Prepare(1, 0, 0, B(1, 1)))
    (reply,) = ready.messages
    assert isinstance(reply, Promise), f"got {reply!r}, expected a Promise"
    assert (reply.ballot, reply.accepted_ballot) == (B(1, 1), None)
    assert ready.persist == AcceptorState(B(1, 1), None, None), f"persist was {ready.persist!r}"


@pytest.mark.kata_step(1, "the acceptor")
def test_an_acceptor_never_goes_back_on_a_promise(impl: Any) -> None:
    """P1a: a lower prepare or accept after a promise is refused."""
    a = impl.Acceptor(0, IDS)
    a.on_prepare(Prepare(1, 0, 0, B(3, 1)))
    low_p = a.on_prepare(Prepare(2, 0, 0, B(2, 2))).messages
    low_a = a.on_accept(Accept(2, 0, 0, B(2, 2), "x")).messages
    assert all(isinstance(m, Nack) for m in low_p + low_a), f"got {low_p + low_a}"


@pytest.mark.kata_step(1, "the acceptor")
def test_an_acceptor_accepts_persists_and_tells_every_learner(impl: Any) -> None:
    """An accept at or above the promise is accepted, persisted, and sent to every learner."""
    a = impl.Acceptor(0, IDS)
    a.on_prepare(Prepare(1, 0, 0, B(3, 1)))
    ready = a.on_accept(Accept(1, 0, 0, B(3, 1), "x"))
    assert ready.persist == AcceptorState(B(3, 1), B(3, 1), "x")
    got = sorted((m.dst, m.value) for m in ready.messages if isinstance(m, Accepted))
    assert got == [(0, "x"), (1, "x"), (2, "x")]


@pytest.mark.kata_step(1, "the acceptor")
def test_a_promise_reports_the_highest_accepted_proposal(impl: Any) -> None:
    """P2c needs it: a promise carries the acceptor's accepted ballot and value."""
    a = impl.Acceptor(0, IDS)
    a.on_accept(Accept(1, 0, 0, B(2, 1), "x"))
    (reply,) = a.on_prepare(Prepare(2, 0, 0, B(5, 2))).messages
    assert isinstance(reply, Promise)
    assert (reply.accepted_ballot, reply.accepted_value) == (B(2, 1), "x")


@pytest.mark.kata_step(1, "the acceptor")
def test_a_restarted_acceptor_remembers_its_promise(impl: Any) -> None:
    """Durable state: an acceptor rebuilt from what it persisted keeps its promise."""
    a = impl.Acceptor(0, IDS)
    st = a.on_prepare(Prepare(1, 0, 0, B(4, 1))).persist
    b = impl.Acceptor(0, IDS, st)
    (reply,) = b.on_prepare(Prepare(2, 0, 0, B(3, 2))).messages
    assert isinstance(reply, Nack), "a restart must not forget a promise"


# --------------------------------------------------------------------------- step 2


def _prepared(impl: Any, n: int = 5) -> Any:
    p = impl.Proposer(0, list(range(n)), "mine")
    msgs = p.prepare().messages
    assert msgs and all(isinstance(m, Prepare) for m in msgs)
    return p


@pytest.mark.kata_step(2, "the proposer")
def test_a_proposer_sends_prepare_to_every_acceptor_with_a_fresh_ballot(impl: Any) -> None:
    """Phase 1a: a ballot (round, node id) above any round used before; the round is persisted."""
    p = impl.Proposer(2, IDS, "v", round=6)
    ready = p.prepare()
    assert sorted(m.dst for m in ready.messages) == IDS
    assert all(m.ballot == B(7, 2) for m in ready.messages), [m.ballot for m in ready.messages]
    assert ready.persist == 7, f"the round must be persisted before sending, got {ready.persist!r}"


@pytest.mark.kata_step(2, "the proposer")
def test_the_proposer_adopts_the_highest_numbered_accepted_value(impl: Any) -> None:
    """P2c. (Catches: adopting the most frequent value.)"""
    p = _prepared(impl)
    b = p.ballot
    p.on_promise(Promise(1, 0, 0, b, B(1, 3), "frequent"))
    p.on_promise(Promise(2, 0, 0, b, B(1, 3), "frequent"))
    out = p.on_promise(Promise(3, 0, 0, b, B(2, 4), "highest")).messages
    values = {m.value for m in out if isinstance(m, Accept)}
    assert values == {"highest"}, f"accept requests carried {values}, expected {{'highest'}}"


@pytest.mark.kata_step(2, "the proposer")
def test_the_proposer_waits_for_a_majority_of_promises_of_its_ballot(impl: Any) -> None:
    """Phase 2a starts only with promises from a majority for the current ballot."""
    p = _prepared(impl)
    b = p.ballot
    assert p.on_promise(Promise(1, 0, 0, B(0, 9), None, None)).messages == []
    assert p.on_promise(Promise(1, 0, 0, b, None, None)).messages == []
    assert p.on_promise(Promise(1, 0, 0, b, None, None)).messages == [], "duplicates count once"
    assert p.on_promise(Promise(2, 0, 0, b, None, None)).messages == []
    out = p.on_promise(Promise(3, 0, 0, b, None, None)).messages
    assert {m.value for m in out} == {"mine"} and len(out) == 5


@pytest.mark.kata_step(2, "the proposer")
def test_after_a_nack_the_next_ballot_is_higher(impl: Any) -> None:
    """Pre-empted by a promise to (9, 4), the retry uses a higher ballot of its own."""
    p = _prepared(impl)
    p.on_nack(Nack(1, 0, 0, p.ballot, B(9, 4)))
    msgs = p.prepare().messages
    assert all(m.ballot > B(9, 4) and m.ballot.node == 0 for m in msgs)


# --------------------------------------------------------------------------- step 3


@pytest.mark.kata_step(3, "the learner")
def test_a_learner_learns_a_value_accepted_by_a_majority(impl: Any) -> None:
    """Paxos Made Simple §2.3: a majority of acceptances of one ballot make a value chosen."""
    lr = impl.Learner(0, IDS)
    assert lr.on_accepted(Accepted(1, 0, 0, B(1, 1), "x")) is False
    assert lr.chosen is None
    assert lr.on_accepted(Accepted(2, 0, 0, B(1, 1), "x")) is True
    assert lr.chosen == "x"


@pytest.mark.kata_step(3, "the learner")
def test_a_learner_counts_per_ballot(impl: Any) -> None:
    """(Catches: counting across ballots.) Two ballots with one acceptance each choose nothing."""
    lr = impl.Learner(0, IDS)
    lr.on_accepted(Accepted(0, 0, 0, B(1, 0), "x"))
    lr.on_accepted(Accepted(1, 0, 0, B(2, 1), "x"))
    lr.on_accepted(Accepted(1, 0, 0, B(2, 1), "x"))
    assert lr.chosen is None, f"learned {lr.chosen!r} without a majority under one ballot"


# --------------------------------------------------------------------------- step 4


def _schedule(impl: Any, seed: int) -> Cluster:
    rng = random.Random(seed)
    n = rng.choice((3, 5))
    c = Cluster(
        n,
        protocol="paxos",
        seed=seed,
        election_timeout=(10, 20),
        delay=(0.2, rng.choice((2.0, 8.0))),
        loss=rng.choice((0.0, 0.1, 0.3)),
        duplicate=rng.choice((0.0, 0.2)),
        disk=(0.1, 2.0),
        paxos_parts=(impl.Acceptor, impl.Proposer, impl.Learner),
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


@pytest.mark.kata_step(4, "one value chosen under faults")
def test_leader_election_with_these_roles_chooses_a_leader(impl: Any) -> None:
    """The three roles, as Paxos leader election on the simulator, choose a leader."""
    c = Cluster(
        3, protocol="paxos", seed=1, paxos_parts=(impl.Acceptor, impl.Proposer, impl.Learner)
    )
    assert c.run_until_leader(timeout=3_000) is not None, "no value was chosen in 3 s"


@pytest.mark.kata_step(4, "one value chosen under faults")
def test_one_value_is_chosen_per_instance_under_random_faults(impl: Any) -> None:
    """Paxos Made Simple §2.1: over 150 fault schedules, one proposed value per instance."""
    for seed in range(150):
        c = _schedule(impl, seed)
        found = check_history(c.history, n=c.n, protocol="paxos")
        assert not found, found[0].report(c.history, seed)
