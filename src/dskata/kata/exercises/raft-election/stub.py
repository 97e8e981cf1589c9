"""Raft election kata: a sans-IO Raft node that elects one leader per term.

The node never reads a clock or does I/O. ``tick(now)`` and ``step(msg, now)`` get the time in
milliseconds and return ``Ready(messages, persist)``: the driver persists ``persist`` (a
``HardState``) first, then sends ``messages``. ``deadline`` says when the node next needs a tick.
Read instructions.md, then make the steps pass one by one:

    dskata kata check raft-election
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dskata.consensus.messages import (  # noqa: F401  (the vocabulary you will need)
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
)


class RaftNode:
    """One Raft server's election logic.

    Attributes your node must keep up to date: ``id``, ``role`` (a ``Role``), ``term``,
    ``voted_for``, ``leader_id``, ``deadline`` (when ``tick`` must next be called) and
    ``heartbeat_interval``.
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
        raise NotImplementedError(
            "step 1: start as a follower (term from hard_state, else the last log term, else 0)"
            " and arm a random election timer from a random.Random(seed)"
        )

    @property
    def hard_state(self) -> HardState:
        """The state that must survive a crash: term and vote."""
        raise NotImplementedError("step 1: return HardState(term, voted_for)")

    def tick(self, now: float) -> Ready:
        """Time passed: fire the election timer, or the leader's heartbeat timer."""
        raise NotImplementedError("step 2: start an election when the deadline has passed")

    def step(self, msg: Message, now: float) -> Ready:
        """Handle one message: RequestVote(Response), AppendEntries(Response), PreVote(...)."""
        raise NotImplementedError("step 1: adopt a higher term and become a follower")

    def campaign(self, now: float) -> Ready:
        """Start an election now (used by tools; like the timer firing)."""
        raise NotImplementedError("step 2: start an election now")

    def become_follower(self, term: int, leader_id: int | None, now: float) -> HardState | None:
        """The only place a node becomes a follower."""
        raise NotImplementedError("step 1: become a follower of `term`")

    def become_candidate(self, now: float) -> tuple[HardState, list[Message]]:
        """The only place a node becomes a candidate."""
        raise NotImplementedError("step 2: new term, vote for yourself, ask every peer")

    def become_leader(self, now: float) -> list[Message]:
        """The only place a node becomes leader."""
        raise NotImplementedError("step 5: assert leadership with heartbeats")
