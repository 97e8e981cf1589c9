"""The messages of Raft and Paxos, as frozen dataclasses named as in the papers, and the
small shared vocabulary (roles, durable state records) that nodes and katas both use.

Every message carries ``src`` and ``dst`` (node ids) so that a sans-IO node can return a flat
list of messages and the simulator (or a real transport) only has to route them. The remaining
fields are the paper's: Raft's Figure 2 (``RequestVote``, ``AppendEntries``), the thesis's
Pre-Vote (§9.6) and TimeoutNow (§3.10); Paxos Made Simple's prepare/promise/accept/accepted, with
an ``instance`` for Multi-Paxos-style leader election by epoch.

``str(message)`` is the one-line form used in transcripts, e.g.
``RequestVote(term=3, last=(7,2))``.

>>> str(RequestVote(src=1, dst=2, term=3, last_log_index=7, last_log_term=2))
'RequestVote(term=3, last=(7,2))'
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "Accept",
    "Accepted",
    "AcceptorState",
    "AppendEntries",
    "AppendEntriesResponse",
    "Ballot",
    "HardState",
    "Heartbeat",
    "Message",
    "Nack",
    "PreVote",
    "PreVoteResponse",
    "Prepare",
    "Promise",
    "Ready",
    "RequestVote",
    "RequestVoteResponse",
    "Role",
    "TimeoutNow",
]


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every message: who sends it and to whom."""

    src: int
    dst: int


# --------------------------------------------------------------------------- Raft (Figure 2)


@dataclass(frozen=True, slots=True)
class RequestVote(Message):
    """Invoked by a candidate to gather votes (Raft §5.2), carrying its last log entry (§5.4.1).

    ``transfer`` marks an election started by TimeoutNow (thesis §3.10): voters then skip the
    leader-lease check, because the current leader asked for this election.
    """

    term: int
    last_log_index: int
    last_log_term: int
    transfer: bool = False

    def __str__(self) -> str:
        extra = ", transfer" if self.transfer else ""
        return (
            f"RequestVote(term={self.term}, last=({self.last_log_index},{self.last_log_term})"
            f"{extra})"
        )


@dataclass(frozen=True, slots=True)
class RequestVoteResponse(Message):
    """A voter's answer: its current term, and whether it granted its vote."""

    term: int
    vote_granted: bool

    def __str__(self) -> str:
        return f"RequestVoteResponse(term={self.term}, granted={self.vote_granted})"


@dataclass(frozen=True, slots=True)
class PreVote(Message):
    """Pre-Vote request (Raft thesis §9.6): "would you vote for me in ``term``?".

    ``term`` is the term the sender *would* campaign in (its current term plus one); neither the
    sender nor the receiver changes its own term for a PreVote.
    """

    term: int
    last_log_index: int
    last_log_term: int

    def __str__(self) -> str:
        return f"PreVote(term={self.term}, last=({self.last_log_index},{self.last_log_term}))"


@dataclass(frozen=True, slots=True)
class PreVoteResponse(Message):
    """Answer to a PreVote: ``term`` is the asked term when granted, else the voter's term."""

    term: int
    vote_granted: bool

    def __str__(self) -> str:
        return f"PreVoteResponse(term={self.term}, granted={self.vote_granted})"


@dataclass(frozen=True, slots=True)
class AppendEntries(Message):
    """Invoked by the leader to replicate entries; with no entries it is a heartbeat (§5.2)."""

    term: int
    prev_log_index: int = 0
    prev_log_term: int = 0
    entries: tuple[int, ...] = ()
    leader_commit: int = 0

    def __str__(self) -> str:
        return f"AppendEntries(term={self.term}, n={len(self.entries)})"


@dataclass(frozen=True, slots=True)
class AppendEntriesResponse(Message):
    """A follower's answer: its term, and whether its log matched ``prev_log_index/term``."""

    term: int
    success: bool

    def __str__(self) -> str:
        return f"AppendEntriesResponse(term={self.term}, ok={self.success})"


@dataclass(frozen=True, slots=True)
class TimeoutNow(Message):
    """Leadership transfer (thesis §3.10): the leader asks ``dst`` to start an election now."""

    term: int

    def __str__(self) -> str:
        return f"TimeoutNow(term={self.term})"


class Role(str, enum.Enum):
    """The roles of a Raft server (Figure 4), plus the thesis's pre-candidate (§9.6).

    A ``str`` enum, so ``node.role == "leader"`` works too.

    >>> Role.LEADER == "leader"
    True
    """

    FOLLOWER = "follower"
    PRE_CANDIDATE = "pre-candidate"
    CANDIDATE = "candidate"
    LEADER = "leader"


@dataclass(frozen=True, slots=True)
class HardState:
    """Raft's persistent state on all servers (Figure 2): ``currentTerm`` and ``votedFor``."""

    term: int
    voted_for: int | None


# --------------------------------------------------------------------------- Paxos


class Ballot(NamedTuple):
    """A proposal number: ``(round, node)``, ordered lexicographically, so unique per node.

    >>> Ballot(2, 0) > Ballot(1, 4)
    True
    """

    round: int
    node: int

    def __str__(self) -> str:
        return f"{self.round}.{self.node}"


@dataclass(frozen=True, slots=True)
class AcceptorState:
    """A Synod acceptor's durable state: its promise and the proposal it last accepted."""

    promised: Ballot | None = None
    accepted_ballot: Ballot | None = None
    accepted_value: object = None


@dataclass(frozen=True, slots=True)
class Prepare(Message):
    """Phase 1a ("prepare request", Paxos Made Simple §2.2) for ``instance``."""

    instance: int
    ballot: Ballot

    def __str__(self) -> str:
        return f"Prepare(i={self.instance}, b={self.ballot})"


@dataclass(frozen=True, slots=True)
class Promise(Message):
    """Phase 1b: a promise not to accept ballots below ``ballot``, with the highest accepted one.

    ``accepted_ballot``/``accepted_value`` are ``None`` when the acceptor accepted nothing yet.
    """

    instance: int
    ballot: Ballot
    accepted_ballot: Ballot | None
    accepted_value: object

    def __str__(self) -> str:
        acc = (
            "-" if self.accepted_ballot is None else f"{self.accepted_ballot}:{self.accepted_value}"
        )
        return f"Promise(i={self.instance}, b={self.ballot}, acc={acc})"


@dataclass(frozen=True, slots=True)
class Accept(Message):
    """Phase 2a ("accept request"): accept ``value`` under ``ballot``."""

    instance: int
    ballot: Ballot
    value: object

    def __str__(self) -> str:
        return f"Accept(i={self.instance}, b={self.ballot}, v={self.value})"


@dataclass(frozen=True, slots=True)
class Accepted(Message):
    """Phase 2b: the acceptor accepted ``value`` under ``ballot``; sent to every learner."""

    instance: int
    ballot: Ballot
    value: object

    def __str__(self) -> str:
        return f"Accepted(i={self.instance}, b={self.ballot}, v={self.value})"


@dataclass(frozen=True, slots=True)
class Nack(Message):
    """A refusal: the acceptor already promised ``promised``, above the asked ``ballot``.

    Not required for safety; it lets the proposer back off and retry sooner (an optimisation
    Paxos Made Simple §2.2 mentions).
    """

    instance: int
    ballot: Ballot
    promised: Ballot

    def __str__(self) -> str:
        return f"Nack(i={self.instance}, b={self.ballot}, promised={self.promised})"


@dataclass(frozen=True, slots=True)
class Heartbeat(Message):
    """Paxos leader election: the leader of epoch ``instance`` (its id was chosen) is alive."""

    instance: int
    leader: int

    def __str__(self) -> str:
        return f"Heartbeat(epoch={self.instance}, leader={self.leader})"


# --------------------------------------------------------------------------- output of a step


@dataclass(slots=True)
class Ready:
    """What a sans-IO node asks its driver to do after a step.

    Persist ``persist`` (when not ``None``) durably FIRST, then send ``messages``: the messages
    may reveal the persisted state (a granted vote, a promise), so sending them before the write
    completes could break safety after a crash.
    """

    messages: list[Message]
    persist: object = None
