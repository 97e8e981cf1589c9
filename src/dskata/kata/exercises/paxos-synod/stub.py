"""Paxos Synod kata: the three roles of single-decree Paxos, sans-IO.

Every method returns a ``Ready(messages, persist)``: persist ``persist`` first, then send
``messages``. Read instructions.md, then make the steps pass one by one:

    dskata kata check paxos-synod
"""

from __future__ import annotations

from collections.abc import Iterable

from dskata.consensus.messages import (  # noqa: F401  (the vocabulary you will need)
    Accept,
    Accepted,
    AcceptorState,
    Ballot,
    Nack,
    Prepare,
    Promise,
    Ready,
)


class Acceptor:
    """A Synod acceptor for one instance (Paxos Made Simple §2.2)."""

    def __init__(
        self, node_id: int, learners: Iterable[int], state: AcceptorState | None = None
    ) -> None:
        raise NotImplementedError("step 1: keep the id, the learners and the durable state")

    @property
    def state(self) -> AcceptorState:
        """The durable state: promise, accepted ballot and value."""
        raise NotImplementedError("step 1: return your AcceptorState")

    def on_prepare(self, msg: Prepare) -> Ready:
        """Promise (and persist) unless a higher ballot was promised; else Nack."""
        raise NotImplementedError("step 1: answer a prepare request")

    def on_accept(self, msg: Accept) -> Ready:
        """Accept (persist, tell every learner) unless a higher ballot was promised; else Nack."""
        raise NotImplementedError("step 1: answer an accept request")


class Proposer:
    """A Synod proposer for one instance."""

    def __init__(
        self,
        node_id: int,
        acceptors: Iterable[int],
        value: object,
        *,
        instance: int = 0,
        round: int = 0,
    ) -> None:
        raise NotImplementedError("step 2: keep the acceptors, your value and the highest round")

    def prepare(self) -> Ready:
        """Start a new ballot (round above any used or seen, this node's id); persist the round."""
        raise NotImplementedError("step 2: send Prepare to every acceptor")

    def on_promise(self, msg: Promise) -> Ready:
        """Count promises for the current ballot; with a majority, send Accept (P2c value)."""
        raise NotImplementedError("step 2: count promises and choose the value to propose")

    def on_nack(self, msg: Nack) -> bool:
        """Note that the current ballot was pre-empted; return True if it was."""
        raise NotImplementedError("step 2: remember the competing ballot")


class Learner:
    """A Synod learner: counts Accepted per ballot."""

    def __init__(self, node_id: int, acceptors: Iterable[int], *, instance: int = 0) -> None:
        raise NotImplementedError("step 3: keep the acceptors; nothing is chosen yet")

    def on_accepted(self, msg: Accepted) -> bool:
        """Count one acceptance; return True exactly when a value becomes chosen."""
        raise NotImplementedError("step 3: count acceptances per ballot")

    def learn(self, value: object) -> bool:
        """Record a value learned from a leader's heartbeat; True if it was new."""
        raise NotImplementedError("step 4: accept a value learned from a trusted leader")
