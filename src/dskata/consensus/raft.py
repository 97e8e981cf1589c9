"""Raft leader election as a sans-IO state machine.

Theory of operation
-------------------
Time is divided into *terms*; each term has at most one leader (Raft §5.2). A node is a follower,
a candidate or a leader (plus a pre-candidate when Pre-Vote is on). A follower that hears nothing
from a leader for a randomised *election timeout* becomes a candidate: it increments its term,
votes for itself and asks every peer for a vote with ``RequestVote``. A node grants at most one
vote per term, and only to a candidate whose log is at least as up-to-date as its own (§5.4.1:
higher last term wins, equal terms compare last index). A candidate with votes from a majority
becomes leader and asserts itself with heartbeats (empty ``AppendEntries``). Any message with a
higher term turns any role back into a follower (§5.1); a message with a lower term is answered
with the current term and otherwise ignored.

Options from Ongaro's thesis:

* ``prevote`` (§9.6): before incrementing its term a node asks "would you vote for me?"; peers
  that heard from a leader within the minimum election timeout say no. A node cut off from the
  majority therefore cannot inflate its term and depose a healthy leader when it comes back.
* ``check_quorum`` (§6.2): a leader that has not heard from a majority within an election timeout
  steps down, and a node that heard from a leader within the minimum election timeout ignores
  RequestVote (the leader lease, §4.2.3), unless the election is a leadership transfer.
* leadership transfer (§3.10): the leader sends ``TimeoutNow``; the target starts an election at
  once, and voters skip the lease check for it.

The node never reads a clock, sleeps or does I/O: :meth:`RaftNode.step` (a message) and
:meth:`RaftNode.tick` (time passed) take ``now`` in milliseconds and return a
:class:`~dskata.consensus.messages.Ready`: the hard state to persist first, then the messages to
send. :attr:`RaftNode.deadline` says when the node next needs a tick. Roles change only in the
``become_*`` methods, and only along the edges of :data:`TRANSITIONS`.

Thread safety: none; a node is driven by one thread (or one simulator).
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from dskata.consensus.messages import (
    AppendEntries,
    AppendEntriesResponse,
    HardState,
    Message,
    PreVote,
    PreVoteResponse,
    Ready,
    RequestVote,
    RequestVoteResponse,
    Role,
    TimeoutNow,
)

__all__ = [
    "TRANSITIONS",
    "RaftNode",
    "Role",
    "log_up_to_date",
    "validate_interval",
    "validate_timeout_range",
]


#: Allowed role changes (Raft Figure 4 plus Pre-Vote). ``become_*`` asserts against this table;
#: the docs' state diagram is generated from it. A follower may "become" a follower again when it
#: learns a higher term.
TRANSITIONS: dict[Role, frozenset[Role]] = {
    Role.FOLLOWER: frozenset({Role.FOLLOWER, Role.PRE_CANDIDATE, Role.CANDIDATE}),
    Role.PRE_CANDIDATE: frozenset({Role.FOLLOWER, Role.PRE_CANDIDATE, Role.CANDIDATE}),
    Role.CANDIDATE: frozenset({Role.FOLLOWER, Role.PRE_CANDIDATE, Role.CANDIDATE, Role.LEADER}),
    Role.LEADER: frozenset({Role.FOLLOWER}),
}


def log_up_to_date(
    candidate_last_index: int, candidate_last_term: int, last_index: int, last_term: int
) -> bool:
    """Whether a candidate's log is at least as up-to-date as ours (Raft §5.4.1).

    The log whose last entry has the later term is more up-to-date; with equal last terms, the
    longer log is.

    Complexity: O(1).

    >>> log_up_to_date(7, 2, 9, 1)   # a later last term beats a longer log
    True
    >>> log_up_to_date(6, 2, 7, 2)   # same last term: the shorter log loses
    False
    """
    if candidate_last_term != last_term:
        return candidate_last_term > last_term
    return candidate_last_index >= last_index


def validate_timeout_range(election_timeout: object) -> tuple[float, float]:
    """Check an ``(lo, hi)`` election timeout range in ms and return it as floats.

    Complexity: O(1).

    >>> validate_timeout_range((150, 300))
    (150.0, 300.0)
    """
    if not isinstance(election_timeout, (tuple, list)) or len(election_timeout) != 2:
        raise TypeError(
            f"election_timeout must be a (lo, hi) pair of milliseconds, got {election_timeout!r}"
        )
    lo, hi = election_timeout
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"election_timeout values must be numbers, got {election_timeout!r}")
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 or hi < lo:
        raise ValueError(
            f"election_timeout must satisfy 0 < lo <= hi (finite ms), got {election_timeout!r}"
        )
    return float(lo), float(hi)


def validate_interval(name: str, value: object) -> float:
    """Check a positive, finite number of milliseconds (a heartbeat interval) and return it.

    Raises ``TypeError`` for a non-number and ``ValueError`` outside ``(0, inf)``, naming
    ``name`` and the value.

    Complexity: O(1).

    >>> validate_interval("heartbeat_interval", 75)
    75.0
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of ms, got {value!r}")
    if not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive, finite number of ms, got {value!r}")
    return float(value)


def _check_int(name: str, value: object, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return value


class RaftNode:
    """One Raft server's election logic, sans-IO.

    Args:
        node_id: this node's id.
        peers: ids of the OTHER members of the cluster (this node is added if present).
        election_timeout: ``(lo, hi)`` ms; each timeout is drawn uniformly from it (§5.2).
        heartbeat_interval: ms between a leader's heartbeats; default ``lo / 2``.
        prevote: enable Pre-Vote (thesis §9.6).
        check_quorum: enable CheckQuorum and the leader lease (thesis §6.2, §4.2.3).
        seed: seed of this node's private RNG (election timeouts).
        log_terms: the term of each log entry, oldest first (index 1 is ``log_terms[0]``).
            Only the last entry matters for elections; replication is out of scope here.
        hard_state: the persisted term and vote to restart from (``None``: a fresh node).
        now: the current time in ms (the first election timer starts here).

    Raises:
        TypeError / ValueError: on a malformed argument, naming it.

    Complexity: every step is O(number of peers).

    >>> a = RaftNode(0, [1, 2], election_timeout=(150, 300), seed=1)
    >>> ready = a.tick(a.deadline)            # the election timer fires
    >>> a.role, a.term, ready.persist
    (<Role.CANDIDATE: 'candidate'>, 1, HardState(term=1, voted_for=0))
    >>> [str(m) for m in ready.messages]
    ['RequestVote(term=1, last=(0,0))', 'RequestVote(term=1, last=(0,0))']
    >>> from dskata.consensus.messages import RequestVoteResponse
    >>> _ = a.step(RequestVoteResponse(src=1, dst=0, term=1, vote_granted=True), a.deadline - 1)
    >>> a.role
    <Role.LEADER: 'leader'>
    """

    def __init__(
        self,
        node_id: int,
        peers: Iterable[int],
        *,
        election_timeout: tuple[float, float] = (150.0, 300.0),
        heartbeat_interval: float | None = None,
        prevote: bool = False,
        check_quorum: bool = False,
        seed: int = 0,
        log_terms: Sequence[int] = (),
        hard_state: HardState | None = None,
        now: float = 0.0,
    ) -> None:
        _check_int("node_id", node_id)
        peer_list = [p for p in peers]
        for p in peer_list:
            _check_int("peers[i]", p)
        lo, hi = validate_timeout_range(election_timeout)
        if heartbeat_interval is None:
            heartbeat_interval = lo / 2
        heartbeat_interval = validate_interval("heartbeat_interval", heartbeat_interval)
        _check_int("seed", seed)
        terms = tuple(log_terms)
        for t in terms:
            _check_int("log_terms[i]", t)
        if any(b < a for a, b in itertools.pairwise(terms)):
            raise ValueError(f"log_terms must be non-decreasing, got {terms!r}")
        if hard_state is not None and not isinstance(hard_state, HardState):
            raise TypeError(f"hard_state must be a HardState or None, got {hard_state!r}")
        self.id = node_id
        self.peers: tuple[int, ...] = tuple(sorted({p for p in peer_list if p != node_id}))
        self.election_timeout = (lo, hi)
        self.heartbeat_interval = float(heartbeat_interval)
        self.prevote = bool(prevote)
        self.check_quorum = bool(check_quorum)
        self.log_terms = terms
        # A fresh node given a log has seen the term of its last entry.
        self.term = hard_state.term if hard_state is not None else (terms[-1] if terms else 0)
        self.voted_for: int | None = hard_state.voted_for if hard_state is not None else None
        if self.term < (terms[-1] if terms else 0):
            raise ValueError(f"hard_state term {self.term} is below the last log term {terms[-1]}")
        self.role = Role.FOLLOWER
        self.leader_id: int | None = None
        self.quorum = (len(self.peers) + 1) // 2 + 1
        self._rng = random.Random(seed)
        self._granted: set[int] = set()
        self._denied: set[int] = set()
        self._active: set[int] = set()  # peers heard from in this CheckQuorum period
        self._last_leader_contact = -math.inf
        self._election_deadline = now + self._random_timeout()
        self._heartbeat_deadline = math.inf
        self._quorum_deadline = math.inf
        self.deadline = self._election_deadline

    # ------------------------------------------------------------------ read-only helpers

    @property
    def last_log_index(self) -> int:
        """Index of the last log entry (0 for an empty log).

        Complexity: O(1).
        """
        return len(self.log_terms)

    @property
    def last_log_term(self) -> int:
        """Term of the last log entry (0 for an empty log).

        Complexity: O(1).
        """
        return self.log_terms[-1] if self.log_terms else 0

    @property
    def hard_state(self) -> HardState:
        """The state that must survive a crash (Figure 2): term and vote.

        Complexity: O(1).
        """
        return HardState(self.term, self.voted_for)

    def _random_timeout(self) -> float:
        lo, hi = self.election_timeout
        return lo + (hi - lo) * self._rng.random()

    def _in_lease(self, now: float) -> bool:
        """Heard from a live leader within the minimum election timeout (thesis §4.2.3).

        Only while that leader is still this node's leader: a node that has since started an
        election (``campaign``, ``TimeoutNow``) or adopted a newer term has no current leader.
        """
        if self.role is Role.LEADER:
            return True
        return (
            self.leader_id is not None
            and now - self._last_leader_contact < self.election_timeout[0]
        )

    def _update_deadline(self) -> None:
        if self.role is Role.LEADER:
            self.deadline = min(self._heartbeat_deadline, self._quorum_deadline)
        else:
            self.deadline = self._election_deadline

    # ------------------------------------------------------------------ role changes

    def _transition(self, new: Role) -> None:
        assert new in TRANSITIONS[self.role], f"illegal transition {self.role} -> {new}"
        self.role = new

    def become_follower(self, term: int, leader_id: int | None, now: float) -> HardState | None:
        """Become a follower of ``term`` (adopting it if higher); returns state to persist.

        The election timer keeps running if it was running (Raft resets it only on a valid
        heartbeat, a granted vote or a new election); a deposed leader starts a fresh one.

        Complexity: O(1).
        """
        persist = None
        if term > self.term:
            self.term = term
            self.voted_for = None
            persist = self.hard_state
        was_leader = self.role is Role.LEADER
        self._transition(Role.FOLLOWER)
        self.leader_id = leader_id
        self._heartbeat_deadline = self._quorum_deadline = math.inf
        if was_leader:
            self._election_deadline = now + self._random_timeout()
        self._update_deadline()
        return persist

    def become_pre_candidate(self, now: float) -> list[Message]:
        """Start a Pre-Vote round (§9.6) for ``term + 1`` without changing the term.

        Complexity: O(peers).
        """
        self._transition(Role.PRE_CANDIDATE)
        self.leader_id = None
        self._granted = {self.id}
        self._denied = set()
        self._election_deadline = now + self._random_timeout()
        self._update_deadline()
        if len(self._granted) >= self.quorum:  # a single-node cluster
            return self.become_candidate(now)[1]
        t, i, lt = self.term + 1, self.last_log_index, self.last_log_term
        return [PreVote(self.id, p, t, i, lt) for p in self.peers]

    def become_candidate(
        self, now: float, *, transfer: bool = False
    ) -> tuple[HardState, list[Message]]:
        """Start an election (§5.2): new term, vote for self, ask every peer.

        Complexity: O(peers).
        """
        self._transition(Role.CANDIDATE)
        self.term += 1
        self.voted_for = self.id
        self.leader_id = None
        self._granted = {self.id}
        self._denied = set()
        self._election_deadline = now + self._random_timeout()
        self._update_deadline()
        persist = self.hard_state
        if len(self._granted) >= self.quorum:
            return persist, self.become_leader(now)
        t, i, lt = self.term, self.last_log_index, self.last_log_term
        return persist, [RequestVote(self.id, p, t, i, lt, transfer) for p in self.peers]

    def become_leader(self, now: float) -> list[Message]:
        """Win the election: assert leadership at once with a heartbeat to every peer (§5.2).

        Complexity: O(peers).
        """
        self._transition(Role.LEADER)
        self.leader_id = self.id
        self._active = set()
        self._election_deadline = math.inf
        self._quorum_deadline = now + self.election_timeout[0] if self.check_quorum else math.inf
        return self._broadcast_heartbeat(now)

    def _broadcast_heartbeat(self, now: float) -> list[Message]:
        self._heartbeat_deadline = now + self.heartbeat_interval
        self._update_deadline()
        t, i, lt = self.term, self.last_log_index, self.last_log_term
        return [AppendEntries(self.id, p, t, i, lt) for p in self.peers]

    # ------------------------------------------------------------------ inputs

    def tick(self, now: float) -> Ready:
        """Let time pass to ``now``: fire whichever timers are due.

        Complexity: O(peers).
        """
        out: list[Message] = []
        persist: HardState | None = None
        if self.role is Role.LEADER:
            if now >= self._quorum_deadline:
                # CheckQuorum (§6.2): step down unless a majority was heard from this period.
                if len(self._active) + 1 < self.quorum:
                    self.become_follower(self.term, None, now)
                    return Ready(out, None)
                self._active = set()
                self._quorum_deadline = now + self.election_timeout[0]
            if now >= self._heartbeat_deadline:
                out = self._broadcast_heartbeat(now)
            self._update_deadline()
        elif now >= self._election_deadline:
            if self.prevote:
                out = self.become_pre_candidate(now)
                if self.role is not Role.PRE_CANDIDATE:  # a single-node cluster won at once
                    persist = self.hard_state
            else:
                persist, out = self.become_candidate(now)
        return Ready(out, persist)

    def campaign(self, now: float) -> Ready:
        """Start an election now, as if the election timer had fired (tests, tools).

        Complexity: O(peers).
        """
        if self.role is Role.LEADER:
            raise ValueError(f"node {self.id} is already the leader of term {self.term}")
        self._election_deadline = now
        return self.tick(now)

    def transfer_leadership(self, target: int, now: float) -> Ready:
        """Ask ``target`` to take over (thesis §3.10) by sending it ``TimeoutNow``.

        The target campaigns immediately with ``transfer=True``; if its log is not up-to-date it
        loses and an ordinary election follows.

        Raises:
            ValueError: if this node is not the leader, or ``target`` is not a peer.

        Complexity: O(1).
        """
        if self.role is not Role.LEADER:
            raise ValueError(f"node {self.id} is {self.role.value}, only a leader can transfer")
        if target not in self.peers:
            raise ValueError(f"target must be one of the peers {list(self.peers)}, got {target!r}")
        return Ready([TimeoutNow(self.id, target, self.term)], None)

    def step(self, msg: Message, now: float) -> Ready:
        """Handle one incoming message at time ``now``.

        Complexity: O(peers) (a new leader's heartbeats), O(1) otherwise.
        """
        if not isinstance(msg, Message):
            raise TypeError(f"RaftNode cannot handle {type(msg).__name__}: {msg!r}")
        if msg.dst != self.id:
            raise ValueError(f"message for node {msg.dst} delivered to node {self.id}: {msg}")
        handler = _HANDLERS.get(type(msg))
        if handler is not None:
            return handler(self, msg, now)
        raise TypeError(f"RaftNode cannot handle {type(msg).__name__}: {msg!r}")

    # ------------------------------------------------------------------ handlers

    def _on_append_entries(self, msg: AppendEntries, now: float) -> Ready:
        if msg.term < self.term:  # stale leader (§5.1): tell it the current term
            return Ready([AppendEntriesResponse(self.id, msg.src, self.term, False)])
        persist = None
        if msg.term > self.term or self.role is not Role.FOLLOWER:
            # A higher term, or a leader of our own term: a candidate steps down (§5.2).
            persist = self.become_follower(msg.term, msg.src, now)
        self.leader_id = msg.src
        self._last_leader_contact = now
        self._election_deadline = now + self._random_timeout()
        self.deadline = self._election_deadline
        i = msg.prev_log_index
        ok = i == 0 or (i <= len(self.log_terms) and self.log_terms[i - 1] == msg.prev_log_term)
        return Ready([AppendEntriesResponse(self.id, msg.src, self.term, ok)], persist)

    def _on_request_vote(self, msg: RequestVote, now: float) -> Ready:
        if msg.term > self.term and self.check_quorum and not msg.transfer and self._in_lease(now):
            # Leader lease (thesis §4.2.3): a live leader exists; neither adopt the term nor vote.
            return Ready([RequestVoteResponse(self.id, msg.src, self.term, False)])
        persist = None
        if msg.term > self.term:
            persist = self.become_follower(msg.term, None, now)
        granted = False
        if (
            msg.term == self.term
            and self.voted_for in (None, msg.src)
            and log_up_to_date(
                msg.last_log_index, msg.last_log_term, self.last_log_index, self.last_log_term
            )
        ):
            granted = True
            if self.voted_for is None:
                self.voted_for = msg.src
                persist = self.hard_state
            # Granting a vote resets the election timer (Figure 2, Rules for Followers).
            self._election_deadline = now + self._random_timeout()
            self._update_deadline()
        return Ready([RequestVoteResponse(self.id, msg.src, self.term, granted)], persist)

    def _record_answer(self, voter: int, granted: bool) -> None:
        # A voter's latest answer counts: a late PreVoteResponse of an earlier round of the
        # same term (pre-votes carry no round number) or a duplicate must not leave one voter
        # counted as both a grant and a denial.
        if granted:
            self._denied.discard(voter)
            self._granted.add(voter)
        elif voter != self.id:
            self._granted.discard(voter)
            self._denied.add(voter)

    def _on_request_vote_response(self, msg: RequestVoteResponse, now: float) -> Ready:
        if msg.term > self.term:
            return Ready([], self.become_follower(msg.term, None, now))
        if self.role is not Role.CANDIDATE or msg.term < self.term or msg.src not in self.peers:
            return Ready([])  # stale (an election already over) or not a member's vote
        self._record_answer(msg.src, msg.vote_granted)
        if len(self._granted) >= self.quorum:
            return Ready(self.become_leader(now))
        if len(self._denied) >= self.quorum:
            # A majority said no: this election is lost; wait as a follower (the timer runs on).
            self.become_follower(self.term, None, now)
        return Ready([])

    def _on_append_entries_response(self, msg: AppendEntriesResponse, now: float) -> Ready:
        if msg.term > self.term:
            return Ready([], self.become_follower(msg.term, None, now))
        if self.role is Role.LEADER and msg.term == self.term and msg.src in self.peers:
            self._active.add(msg.src)
        return Ready([])

    def _on_pre_vote(self, msg: PreVote, now: float) -> Ready:
        # A PreVote never changes the receiver's state (§9.6).
        granted = (
            msg.term > self.term
            and not self._in_lease(now)
            and log_up_to_date(
                msg.last_log_index, msg.last_log_term, self.last_log_index, self.last_log_term
            )
        )
        term = msg.term if granted else self.term
        return Ready([PreVoteResponse(self.id, msg.src, term, granted)])

    def _on_pre_vote_response(self, msg: PreVoteResponse, now: float) -> Ready:
        if msg.term > self.term and not msg.vote_granted:
            return Ready([], self.become_follower(msg.term, None, now))
        # A grant names the asked term (ours + 1); a denial carries the voter's term, which is
        # ours when the voter is merely in touch with a leader (a higher one was adopted above).
        expected = self.term + 1 if msg.vote_granted else self.term
        if self.role is not Role.PRE_CANDIDATE or msg.term != expected or msg.src not in self.peers:
            return Ready([])
        self._record_answer(msg.src, msg.vote_granted)
        if len(self._granted) >= self.quorum:
            persist, out = self.become_candidate(now)
            return Ready(out, persist)
        if len(self._denied) >= self.quorum:
            self.become_follower(self.term, None, now)
        return Ready([])

    def _on_timeout_now(self, msg: TimeoutNow, now: float) -> Ready:
        if msg.term != self.term or self.role is Role.LEADER:
            return Ready([])
        if self.role is Role.PRE_CANDIDATE:
            self.become_follower(self.term, msg.src, now)
        persist, out = self.become_candidate(now, transfer=True)
        return Ready(out, persist)

    # ------------------------------------------------------------------ invariants

    def _check(self) -> None:
        """Assert the node's local invariants (called by tests after every step)."""
        assert self.role in TRANSITIONS
        assert self.term >= 0
        assert self.term >= self.last_log_term, "a log entry from a future term"
        if self.role in (Role.CANDIDATE, Role.LEADER):
            assert self.voted_for == self.id, "a candidate or leader voted for itself"
        if self.role is Role.LEADER:
            assert self.leader_id == self.id
            assert self._heartbeat_deadline < math.inf
            assert len(self._granted) >= self.quorum or not self.peers
        else:
            assert self._election_deadline < math.inf, "a non-leader must have an election timer"
        if self.role in (Role.CANDIDATE, Role.PRE_CANDIDATE):
            assert self.id in self._granted
            assert not (self._granted & self._denied)
        assert self.deadline == (
            min(self._heartbeat_deadline, self._quorum_deadline)
            if self.role is Role.LEADER
            else self._election_deadline
        )

    def __repr__(self) -> str:
        return (
            f"RaftNode(id={self.id}, role={self.role.value}, term={self.term}, "
            f"voted_for={self.voted_for}, leader={self.leader_id})"
        )


_HANDLERS: dict[type, Callable[[RaftNode, Any, float], Ready]] = {
    AppendEntries: RaftNode._on_append_entries,
    AppendEntriesResponse: RaftNode._on_append_entries_response,
    RequestVote: RaftNode._on_request_vote,
    RequestVoteResponse: RaftNode._on_request_vote_response,
    PreVote: RaftNode._on_pre_vote,
    PreVoteResponse: RaftNode._on_pre_vote_response,
    TimeoutNow: RaftNode._on_timeout_now,
}
