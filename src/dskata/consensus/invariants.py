"""Safety invariants, checked over a complete history (never over sampled snapshots).

Theory of operation
-------------------
The simulator records every role change, term change, granted vote, crash and restart (and for
Paxos every proposal, acceptance and learned value) in :attr:`Cluster.history`. Safety is a
property of that whole sequence, so the checker replays it once:

Raft (§5.2, §5.4, Figure 3 "Election Safety"):
  * at most one leader per term;
  * at most one vote per node per term, across restarts (the vote is persisted);
  * a node's term never decreases, across restarts (the term is persisted);
  * every leader of term ``t`` received votes of term ``t`` (itself included) from a majority.

Paxos (Paxos Made Simple §2.1):
  * at most one value is chosen per instance, where "chosen" is recomputed from the acceptors'
    acceptances (a majority under one ballot) and every learner's learned value must agree;
  * a chosen value was proposed (some proposer sent it in an accept request).

A violation carries the seed and the transcript of the events leading to it:

>>> from dskata.consensus.sim import Event
>>> h = [Event(1.0, 0, "vote", 1, 0), Event(1.0, 1, "vote", 1, 0), Event(2.0, 0, "leader", 1),
...      Event(3.0, 1, "vote", 1, 2)]
>>> [v.rule for v in check_history(h, n=3)]
['one vote per node per term']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["InvariantViolation", "Violation", "assert_invariants", "check_history"]


@dataclass(frozen=True)
class Violation:
    """One broken invariant: the rule, a sentence, and where in the history it broke."""

    rule: str
    message: str
    index: int  # position in the history of the event that broke it

    def report(self, history: Sequence[Any], seed: int | None = None, last: int = 25) -> str:
        """The message, the seed to replay it, and the transcript of the preceding events.

        Complexity: O(last).
        """
        lo = max(0, self.index - last + 1)
        lines = [f"invariant violated: {self.rule}: {self.message}"]
        if seed is not None:
            lines.append(f"replay with seed={seed}")
        lines.append(f"transcript (events {lo}..{self.index}):")
        lines.extend("  " + str(e) for e in history[lo : self.index + 1])
        return "\n".join(lines)


class InvariantViolation(AssertionError):
    """A history broke a safety invariant; the message holds the seed and a transcript."""


def check_history(history: Sequence[Any], *, n: int, protocol: str = "raft") -> list[Violation]:
    """Every invariant violation in ``history`` of an ``n``-node cluster (empty when safe).

    Args:
        history: events with ``time``, ``node``, ``kind``, ``term``, ``detail``.
        n: cluster size (a majority is ``n // 2 + 1``).
        protocol: ``"raft"`` or ``"paxos"``.

    Raises:
        TypeError / ValueError: ``n`` is not a positive int, or ``protocol`` is unknown.

    Complexity: O(len(history)).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int (the cluster size), got {n!r}")
    if n < 1:
        raise ValueError(f"n must be >= 1 (the cluster size), got {n!r}")
    if protocol == "raft":
        return _check_raft(history, n)
    if protocol == "paxos":
        return _check_paxos(history, n)
    raise ValueError(f"protocol must be 'raft' or 'paxos', got {protocol!r}")


_RAFT_KINDS = frozenset(
    {"leader", "candidate", "pre-candidate", "follower", "term", "vote", "restart"}
)


def _check_raft(history: Sequence[Any], n: int) -> list[Violation]:
    out: list[Violation] = []
    majority = n // 2 + 1
    leaders: dict[int, int] = {}
    votes: dict[tuple[int, int], int] = {}  # (voter, term) -> candidate
    voters_for: dict[tuple[int, int], set[int]] = {}  # (candidate, term) -> voters
    last_term: dict[int, int] = {}
    for idx, e in enumerate(history):
        kind = e.kind
        if kind not in _RAFT_KINDS:
            continue  # messages, crashes (in-memory term) and effects lost in a crash
        node, term = e.node, e.term
        prev = last_term.get(node)
        if prev is not None and term < prev:
            out.append(
                Violation(
                    "terms never decrease", f"node {node} went from term {prev} to {term}", idx
                )
            )
        last_term[node] = term if prev is None else max(prev, term)
        if kind == "vote":
            cand = e.detail
            key = (node, term)
            if key in votes and votes[key] != cand:
                out.append(
                    Violation(
                        "one vote per node per term",
                        f"node {node} voted for {votes[key]} and for {cand} in term {term}",
                        idx,
                    )
                )
            votes.setdefault(key, cand)
            voters_for.setdefault((cand, term), set()).add(node)
        elif kind == "leader":
            if term in leaders and leaders[term] != node:
                out.append(
                    Violation(
                        "one leader per term",
                        f"nodes {leaders[term]} and {node} were both leaders of term {term}",
                        idx,
                    )
                )
            leaders.setdefault(term, node)
            got = voters_for.get((node, term), set())
            if len(got) < majority:
                out.append(
                    Violation(
                        "a leader had a majority",
                        f"node {node} led term {term} with votes from {sorted(got)} only "
                        f"(majority of {n} is {majority})",
                        idx,
                    )
                )
    return out


def _check_paxos(history: Sequence[Any], n: int) -> list[Violation]:
    out: list[Violation] = []
    majority = n // 2 + 1
    proposed: dict[int, list[object]] = {}
    accepts: dict[tuple[int, object], set[int]] = {}  # (instance, ballot) -> acceptors
    chosen: dict[int, object] = {}
    for idx, e in enumerate(history):
        kind = e.kind
        inst = e.term
        if kind == "propose":
            _, value = e.detail
            proposed.setdefault(inst, []).append(value)
        elif kind == "accept":
            ballot, value = e.detail
            if value not in proposed.get(inst, []):
                out.append(
                    Violation(
                        "a chosen value was proposed",
                        f"node {e.node} accepted {value!r} in instance {inst}, never proposed",
                        idx,
                    )
                )
            got = accepts.setdefault((inst, ballot), set())
            got.add(e.node)
            if len(got) >= majority:
                if inst in chosen and chosen[inst] != value:
                    out.append(
                        Violation(
                            "one value chosen per instance",
                            f"instance {inst}: {chosen[inst]!r} was chosen, then {value!r} "
                            f"under ballot {ballot}",
                            idx,
                        )
                    )
                chosen.setdefault(inst, value)
        elif kind == "chosen":
            if inst in chosen and chosen[inst] != e.detail:
                out.append(
                    Violation(
                        "one value chosen per instance",
                        f"node {e.node} learned {e.detail!r} in instance {inst}, "
                        f"but {chosen[inst]!r} was chosen",
                        idx,
                    )
                )
            elif e.detail not in proposed.get(inst, []):
                out.append(
                    Violation(
                        "a chosen value was proposed",
                        f"node {e.node} learned {e.detail!r} in instance {inst}, never proposed",
                        idx,
                    )
                )
            chosen.setdefault(inst, e.detail)
    return out


def assert_invariants(cluster: Any, *, last: int = 25) -> None:
    """Raise :class:`InvariantViolation` (seed + transcript) if ``cluster``'s history is unsafe.

    Complexity: O(len(history)).

    >>> from dskata.consensus.sim import Cluster
    >>> c = Cluster(3, seed=1)
    >>> c.run_for(500)
    >>> assert_invariants(c)
    """
    found = check_history(cluster.history, n=cluster.n, protocol=cluster.protocol)
    if found:
        raise InvariantViolation(found[0].report(cluster.history, cluster.seed, last))
