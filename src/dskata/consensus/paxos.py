"""Single-decree Paxos (the Synod protocol) and Paxos leader election by epoch, sans-IO.

Theory of operation
-------------------
*Synod* (Lamport, Paxos Made Simple §2). A proposer picks a ballot ``(round, node)``, unique to
it, and sends ``Prepare``. An acceptor promises (``Promise``) never to accept a lower ballot and
reports the highest-numbered proposal it accepted, if any. With promises from a majority the
proposer sends ``Accept`` with the value of the highest-numbered accepted proposal among them,
or its own value if there is none (P2c). An acceptor accepts unless it promised a higher ballot,
and tells every learner (``Accepted``). A learner counts acceptances *per ballot*: a value is
chosen when a majority accepted it under the same ballot. Acceptor state (promise, accepted
proposal) and the proposer's round are persisted before any message that reveals them is sent;
a restarted acceptor that forgot a promise could let two values be chosen.

*Leader election by epoch.* Epoch ``e`` is Synod instance ``e``; its value is the id of the
leader of that epoch. A node that hears no heartbeat for a randomised election timeout proposes
itself for the next epoch; when a value is chosen every node follows that leader, which sends
heartbeats. Duelling proposers (each pre-empting the other's ballot) are broken by randomised,
exponentially growing back-off before a retry.

Thread safety: none; each object is driven by one thread (or one simulator).
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from dskata.consensus.messages import (
    Accept,
    Accepted,
    AcceptorState,
    Ballot,
    Heartbeat,
    Message,
    Nack,
    Prepare,
    Promise,
    Ready,
)
from dskata.consensus.raft import validate_interval, validate_timeout_range

__all__ = [
    "Acceptor",
    "AcceptorState",
    "Learner",
    "PaxosDurable",
    "PaxosNode",
    "PaxosRole",
    "Proposer",
]


def _quorum(n: int) -> int:
    return n // 2 + 1


def _natural(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return value


def _members(name: str, ids: Iterable[int]) -> tuple[int, ...]:
    out = tuple(ids)
    if not out:
        raise ValueError(f"{name} must name at least one node, got {out!r}")
    for i in out:
        if isinstance(i, bool) or not isinstance(i, int) or i < 0:
            raise TypeError(f"{name} must hold non-negative int node ids, got {i!r}")
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a node, got {out!r}")
    return out


class Acceptor:
    """A Synod acceptor for one instance.

    Args:
        node_id: this acceptor's id.
        learners: the nodes told about every acceptance.
        state: durable state to restart from.

    Complexity: O(1) per prepare, O(learners) per accept.

    >>> a = Acceptor(0, learners=[0, 1, 2])
    >>> r = a.on_prepare(Prepare(src=1, dst=0, instance=0, ballot=Ballot(1, 1)))
    >>> r.persist
    AcceptorState(promised=Ballot(round=1, node=1), accepted_ballot=None, accepted_value=None)
    >>> [str(m) for m in r.messages]
    ['Promise(i=0, b=1.1, acc=-)']
    >>> str(a.on_prepare(Prepare(src=2, dst=0, instance=0, ballot=Ballot(0, 2))).messages[0])
    'Nack(i=0, b=0.2, promised=1.1)'
    """

    def __init__(
        self, node_id: int, learners: Iterable[int], state: AcceptorState | None = None
    ) -> None:
        self.id = _natural("node_id", node_id)
        self.learners = _members("learners", learners)
        if state is not None and not isinstance(state, AcceptorState):
            raise TypeError(f"state must be an AcceptorState or None, got {state!r}")
        st = state or AcceptorState()
        self.promised: Ballot | None = st.promised
        self.accepted_ballot: Ballot | None = st.accepted_ballot
        self.accepted_value: object = st.accepted_value

    @property
    def state(self) -> AcceptorState:
        """The durable state (persist it before sending the reply that reveals it).

        Complexity: O(1).
        """
        return AcceptorState(self.promised, self.accepted_ballot, self.accepted_value)

    def on_prepare(self, msg: Prepare) -> Ready:
        """Phase 1b: promise ``msg.ballot`` unless a higher ballot was promised.

        Complexity: O(1).
        """
        if self.promised is not None and msg.ballot < self.promised:
            return Ready([Nack(self.id, msg.src, msg.instance, msg.ballot, self.promised)])
        persist = None
        if self.promised != msg.ballot:
            self.promised = msg.ballot
            persist = self.state
        reply = Promise(
            self.id, msg.src, msg.instance, msg.ballot, self.accepted_ballot, self.accepted_value
        )
        return Ready([reply], persist)

    def on_accept(self, msg: Accept) -> Ready:
        """Phase 2b: accept unless a higher ballot was promised; tell every learner.

        Complexity: O(learners).
        """
        if self.promised is not None and msg.ballot < self.promised:
            return Ready([Nack(self.id, msg.src, msg.instance, msg.ballot, self.promised)])
        persist = None
        if self.accepted_ballot != msg.ballot or self.promised != msg.ballot:
            self.promised = msg.ballot
            self.accepted_ballot = msg.ballot
            self.accepted_value = msg.value
            persist = self.state
        out: list[Message] = [
            Accepted(self.id, lr, msg.instance, msg.ballot, msg.value) for lr in self.learners
        ]
        return Ready(out, persist)

    def _check(self) -> None:
        """Assert: an accepted ballot never exceeds the promise."""
        if self.accepted_ballot is not None:
            assert self.promised is not None and self.accepted_ballot <= self.promised


class Proposer:
    """A Synod proposer for one instance.

    Args:
        node_id: this proposer's id (the second half of its ballots).
        acceptors: the acceptors (a majority of them is a quorum).
        value: the value it proposes when no value was accepted before (not ``None``).
        instance: the Synod instance.
        round: the highest round this node ever used (persisted); the next ballot is above it.

    Complexity: O(acceptors) per ballot.

    >>> p = Proposer(0, acceptors=[0, 1, 2], value="x")
    >>> [str(m) for m in p.prepare().messages][:1]
    ['Prepare(i=0, b=1.0)']
    >>> _ = p.on_promise(Promise(src=1, dst=0, instance=0, ballot=Ballot(1, 0),
    ...                          accepted_ballot=Ballot(0, 2), accepted_value="y"))
    >>> out = p.on_promise(Promise(src=2, dst=0, instance=0, ballot=Ballot(1, 0),
    ...                            accepted_ballot=None, accepted_value=None))
    >>> str(out.messages[0])    # adopts the value of the highest accepted proposal
    'Accept(i=0, b=1.0, v=y)'
    """

    def __init__(
        self,
        node_id: int,
        acceptors: Iterable[int],
        value: object,
        *,
        instance: int = 0,
        round: int = 0,
    ) -> None:
        if value is None:
            raise ValueError("value must not be None (None means 'nothing accepted')")
        self.id = _natural("node_id", node_id)
        _natural("instance", instance)
        _natural("round", round)
        self.acceptors = _members("acceptors", acceptors)
        self.quorum = _quorum(len(self.acceptors))
        self.own_value = value
        self.value: object = value
        self.instance = instance
        self.round = round
        self.ballot: Ballot | None = None
        self.phase = "idle"  # idle -> prepare -> accept; back to prepare on a retry
        self.preempted_by: Ballot | None = None
        self._promises: dict[int, Promise] = {}

    def prepare(self) -> Ready:
        """Phase 1a: a new ballot above every round used or seen; persist the round first.

        Complexity: O(acceptors).
        """
        seen = self.preempted_by.round if self.preempted_by is not None else 0
        self.round = max(self.round, seen) + 1
        self.ballot = Ballot(self.round, self.id)
        self.phase = "prepare"
        self.value = self.own_value
        self.preempted_by = None
        self._promises = {}
        out: list[Message] = [
            Prepare(self.id, a, self.instance, self.ballot) for a in self.acceptors
        ]
        return Ready(out, self.round)

    def on_promise(self, msg: Promise) -> Ready:
        """Count a promise for the current ballot; with a majority, send Accept (phase 2a).

        Complexity: O(acceptors) once a majority answered, O(1) otherwise.
        """
        if self.phase != "prepare" or msg.ballot != self.ballot or msg.src not in self.acceptors:
            return Ready([])
        self._promises[msg.src] = msg
        if len(self._promises) < self.quorum:
            return Ready([])
        # P2c: adopt the value of the highest-numbered accepted proposal, if any.
        best: Promise | None = None
        for p in self._promises.values():
            if p.accepted_ballot is not None and (
                best is None
                or best.accepted_ballot is None
                or p.accepted_ballot > best.accepted_ballot
            ):
                best = p
        self.value = best.accepted_value if best is not None else self.own_value
        self.phase = "accept"
        ballot = self.ballot
        assert ballot is not None
        out: list[Message] = [
            Accept(self.id, a, self.instance, ballot, self.value) for a in self.acceptors
        ]
        return Ready(out)

    def on_nack(self, msg: Nack) -> bool:
        """Note a refusal of the current ballot; True when the ballot is pre-empted.

        Complexity: O(1).
        """
        if msg.ballot != self.ballot or self.phase == "idle":
            return False
        if self.preempted_by is None or msg.promised > self.preempted_by:
            self.preempted_by = msg.promised
        return True

    def _check(self) -> None:
        """Assert: the ballot belongs to this proposer and its round was recorded."""
        if self.ballot is not None:
            assert self.ballot.node == self.id and self.ballot.round <= self.round
        assert len(self._promises) <= len(self.acceptors)


class Learner:
    """A Synod learner for one instance: counts ``Accepted`` per ballot.

    Complexity: O(1) per message.

    >>> lr = Learner(0, acceptors=[0, 1, 2])
    >>> lr.on_accepted(Accepted(src=1, dst=0, instance=0, ballot=Ballot(1, 1), value="x"))
    False
    >>> lr.on_accepted(Accepted(src=2, dst=0, instance=0, ballot=Ballot(1, 1), value="x"))
    True
    >>> lr.chosen
    'x'
    """

    def __init__(self, node_id: int, acceptors: Iterable[int], *, instance: int = 0) -> None:
        self.id = _natural("node_id", node_id)
        _natural("instance", instance)
        self.acceptors = _members("acceptors", acceptors)
        self.quorum = _quorum(len(self.acceptors))
        self.instance = instance
        self.chosen: object = None
        self._votes: dict[Ballot, set[int]] = {}
        self._values: dict[Ballot, object] = {}

    def on_accepted(self, msg: Accepted) -> bool:
        """Count one acceptance; True exactly when this message makes a value chosen.

        Complexity: O(1).
        """
        if msg.src not in self.acceptors:
            return False
        voters = self._votes.setdefault(msg.ballot, set())
        voters.add(msg.src)
        self._values[msg.ballot] = msg.value
        if self.chosen is None and len(voters) >= self.quorum:
            self.chosen = msg.value
            return True
        return False

    def learn(self, value: object) -> bool:
        """Record a value learned from a trusted source (a leader's heartbeat).

        Complexity: O(1).
        """
        if self.chosen is None:
            self.chosen = value
            return True
        return False

    def _check(self) -> None:
        """Assert: at most one value has a majority, and it is the chosen one."""
        winners = {repr(self._values[b]) for b, v in self._votes.items() if len(v) >= self.quorum}
        assert len(winners) <= 1, f"two values chosen: {winners}"
        if winners:
            assert repr(self.chosen) in winners


class PaxosRole(str, enum.Enum):
    """Roles of a node in Paxos leader election (a ``str`` enum, like Raft's ``Role``)."""

    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"


_PAXOS_TRANSITIONS: dict[PaxosRole, frozenset[PaxosRole]] = {
    PaxosRole.FOLLOWER: frozenset({PaxosRole.FOLLOWER, PaxosRole.CANDIDATE, PaxosRole.LEADER}),
    PaxosRole.CANDIDATE: frozenset({PaxosRole.FOLLOWER, PaxosRole.CANDIDATE, PaxosRole.LEADER}),
    PaxosRole.LEADER: frozenset({PaxosRole.FOLLOWER}),
}


@dataclass(frozen=True, slots=True)
class PaxosDurable:
    """What a Paxos node persists: its highest round and each instance's acceptor state."""

    round: int = 0
    acceptors: dict[int, AcceptorState] = field(default_factory=dict)


class PaxosNode:
    """A node of Paxos leader election: proposer, acceptor and learner of every epoch.

    Args:
        node_id: this node's id; ``peers``: the other members.
        election_timeout: ``(lo, hi)`` ms without a heartbeat before proposing itself.
        heartbeat_interval: ms between the leader's heartbeats; default ``lo / 2``.
        seed: seed of the node's RNG (timeouts and back-off).
        durable: persisted state to restart from.
        now: current time in ms.
        acceptor_class / proposer_class / learner_class: the Synod roles (the kata swaps in the
            learner's).

    Complexity: O(n) per step.

    >>> a = PaxosNode(0, [1, 2], seed=1)
    >>> ready = a.tick(a.deadline)
    >>> a.role.value, [str(m) for m in ready.messages][:1]
    ('candidate', ['Prepare(i=1, b=1.0)'])
    """

    def __init__(
        self,
        node_id: int,
        peers: Iterable[int],
        *,
        election_timeout: tuple[float, float] = (150.0, 300.0),
        heartbeat_interval: float | None = None,
        seed: int = 0,
        durable: PaxosDurable | None = None,
        now: float = 0.0,
        acceptor_class: type[Acceptor] = Acceptor,
        proposer_class: type[Proposer] = Proposer,
        learner_class: type[Learner] = Learner,
    ) -> None:
        _natural("node_id", node_id)
        lo, hi = validate_timeout_range(election_timeout)
        hb = validate_interval(
            "heartbeat_interval", lo / 2 if heartbeat_interval is None else heartbeat_interval
        )
        if durable is not None and not isinstance(durable, PaxosDurable):
            raise TypeError(f"durable must be a PaxosDurable or None, got {durable!r}")
        self.id = node_id
        self.members: tuple[int, ...] = tuple(sorted({*peers, node_id}))
        _members("peers", self.members)
        self.election_timeout = (lo, hi)
        self.heartbeat_interval = float(hb)
        self._acceptor_class = acceptor_class
        self._proposer_class = proposer_class
        self._learner_class = learner_class
        d = durable or PaxosDurable()
        self.round = d.round
        self._acceptor_states: dict[int, AcceptorState] = dict(d.acceptors)
        self._acceptors: dict[int, Acceptor] = {}
        self._learners: dict[int, Learner] = {}
        self.chosen: dict[int, object] = {}
        self.epoch = 0
        self.leader_id: int | None = None
        self.role = PaxosRole.FOLLOWER
        self.proposer: Proposer | None = None
        self._attempts = 0
        self._rng = random.Random(seed)
        self._election_deadline = now + self._timeout()
        self._heartbeat_deadline = math.inf
        self.deadline = self._election_deadline

    @property
    def term(self) -> int:
        """The current epoch (the Synod instance whose leader this node follows).

        Complexity: O(1).
        """
        return self.epoch

    @property
    def durable(self) -> PaxosDurable:
        """The state to persist: highest round and the acceptors' promises and acceptances.

        Complexity: O(instances).
        """
        return PaxosDurable(self.round, dict(self._acceptor_states))

    def _timeout(self) -> float:
        lo, hi = self.election_timeout
        return lo + (hi - lo) * self._rng.random()

    def _acceptor(self, instance: int) -> Acceptor:
        a = self._acceptors.get(instance)
        if a is None:
            a = self._acceptor_class(self.id, self.members, self._acceptor_states.get(instance))
            self._acceptors[instance] = a
        return a

    def _learner(self, instance: int) -> Learner:
        lr = self._learners.get(instance)
        if lr is None:
            lr = self._learner_class(self.id, self.members, instance=instance)
            self._learners[instance] = lr
        return lr

    # ------------------------------------------------------------------ role changes

    def _transition(self, new: PaxosRole) -> None:
        assert new in _PAXOS_TRANSITIONS[self.role], f"illegal transition {self.role} -> {new}"
        self.role = new

    def become_follower(self, now: float) -> None:
        """Follow the leader of the current epoch (or wait for one).

        Complexity: O(1).
        """
        self._transition(PaxosRole.FOLLOWER)
        self.proposer = None
        self._attempts = 0
        self._heartbeat_deadline = math.inf
        self._election_deadline = now + self._timeout()
        self.deadline = self._election_deadline

    def become_candidate(self, now: float) -> Ready:
        """Propose this node as leader of the next epoch (a new ballot if already trying).

        Complexity: O(peers).
        """
        self._transition(PaxosRole.CANDIDATE)
        instance = self.epoch + 1
        if self.proposer is None or self.proposer.instance != instance:
            self.proposer = self._proposer_class(
                self.id, self.members, self.id, instance=instance, round=self.round
            )
        self._attempts += 1
        ready = self.proposer.prepare()
        self.round = self.proposer.round
        # Randomised exponential back-off: the next attempt if this ballot stalls or loses.
        span = self.election_timeout[0] * min(2 ** (self._attempts - 1), 8)
        self._election_deadline = now + self.election_timeout[0] / 2 + span * self._rng.random()
        self.deadline = self._election_deadline
        return Ready(ready.messages, self.durable)

    def become_leader(self, now: float) -> list[Message]:
        """Our id was chosen for the current epoch: lead it, heartbeat at once.

        Complexity: O(peers).
        """
        self._transition(PaxosRole.LEADER)
        self.proposer = None
        self._attempts = 0
        self._election_deadline = math.inf
        return self._heartbeat(now)

    def _heartbeat(self, now: float) -> list[Message]:
        self._heartbeat_deadline = now + self.heartbeat_interval
        self.deadline = self._heartbeat_deadline
        return [Heartbeat(self.id, p, self.epoch, self.id) for p in self.members if p != self.id]

    def _learned(self, instance: int, value: object, now: float) -> list[Message]:
        self.chosen[instance] = value
        if instance <= self.epoch:
            return []
        self.epoch = instance
        self.leader_id = value if isinstance(value, int) else None
        if value == self.id:
            if self.role is PaxosRole.LEADER:
                return self._heartbeat(now)
            return self.become_leader(now)
        if self.role is not PaxosRole.FOLLOWER or self.proposer is not None:
            self.become_follower(now)
        else:
            self._election_deadline = now + self._timeout()
            self.deadline = self._election_deadline
        return []

    # ------------------------------------------------------------------ inputs

    def tick(self, now: float) -> Ready:
        """Fire due timers: the leader's heartbeat, or a (re)try to become leader.

        Complexity: O(n).
        """
        if self.role is PaxosRole.LEADER:
            if now >= self._heartbeat_deadline:
                return Ready(self._heartbeat(now))
            return Ready([])
        if now >= self._election_deadline:
            return self.become_candidate(now)
        return Ready([])

    def step(self, msg: Message, now: float) -> Ready:
        """Handle one message at ``now``.

        Complexity: O(n).
        """
        if not isinstance(msg, Message):
            raise TypeError(f"PaxosNode cannot handle {type(msg).__name__}: {msg!r}")
        if msg.dst != self.id:
            raise ValueError(f"message for node {msg.dst} delivered to node {self.id}: {msg}")
        if isinstance(msg, Prepare):
            acc = self._acceptor(msg.instance)
            r = acc.on_prepare(msg)
            if r.persist is not None:
                self._acceptor_states[msg.instance] = acc.state
                r.persist = self.durable
            return r
        if isinstance(msg, Accept):
            acc = self._acceptor(msg.instance)
            r = acc.on_accept(msg)
            if r.persist is not None:
                self._acceptor_states[msg.instance] = acc.state
                r.persist = self.durable
            return r
        if isinstance(msg, Promise):
            p = self.proposer
            if p is None or p.instance != msg.instance:
                return Ready([])
            return Ready(p.on_promise(msg).messages)
        if isinstance(msg, Accepted):
            lr = self._learner(msg.instance)
            if lr.on_accepted(msg):
                return Ready(self._learned(msg.instance, lr.chosen, now))
            return Ready([])
        if isinstance(msg, Nack):
            p = self.proposer
            if p is not None and p.instance == msg.instance and p.on_nack(msg):
                self.round = max(self.round, msg.promised.round)
            return Ready([])
        if isinstance(msg, Heartbeat):
            if msg.instance < self.epoch:
                return Ready([])
            out: list[Message] = []
            if self._learner(msg.instance).learn(msg.leader) or msg.instance > self.epoch:
                out = self._learned(msg.instance, msg.leader, now)
            if self.role is PaxosRole.CANDIDATE and msg.instance == self.epoch:
                # The leader we suspected is alive after all: abandon the proposal.
                self.become_follower(now)
            elif self.role is PaxosRole.FOLLOWER:
                self._election_deadline = now + self._timeout()
                self.deadline = self._election_deadline
            return Ready(out)
        raise TypeError(f"PaxosNode cannot handle {type(msg).__name__}: {msg!r}")

    def _check(self) -> None:
        """Assert the node's invariants and its Synod parts'."""
        for a in self._acceptors.values():
            a._check()
        for lr in self._learners.values():
            lr._check()
        if self.proposer is not None:
            self.proposer._check()
            assert self.proposer.round <= self.round
        if self.role is PaxosRole.LEADER:
            assert self.chosen.get(self.epoch) == self.id
        assert self.epoch == max(self.chosen, default=0)

    def __repr__(self) -> str:
        return f"PaxosNode(id={self.id}, role={self.role.value}, epoch={self.epoch})"
