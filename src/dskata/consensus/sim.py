"""A deterministic, fault-injecting network simulator for sans-IO consensus nodes.

Theory of operation
-------------------
Simulated time is a float number of milliseconds. One binary heap holds every future event:
message deliveries and node timers, ordered by ``(time, sequence number)`` so ties break in
insertion order. One seeded :class:`random.Random` drives the network (delays, loss,
duplication, disk latency, timer jitter) and each node gets its own seeded RNG, so the same
seed replays the same run event for event.

*Network.* Each message gets an independent delay drawn uniformly from ``delay``; messages can
overtake each other (reordering). A message is lost with probability ``loss`` and duplicated
(a second copy with its own delay) with probability ``duplicate``. Links are checked on
delivery: :meth:`Cluster.partition`, :meth:`Cluster.block` (one-way) and :meth:`Cluster.heal`
change them, and a message in flight across a cut link is lost.

*Disk.* When a step returns state to persist, the write takes a time drawn from ``disk`` and the
node's disk serves writes in order; the step's messages (and any later message of that node) are
sent only when the write is done. A crash loses the writes not done yet and the messages they
were holding; :meth:`Cluster.restart` rebuilds the node from its durable state.

*Timers.* A node exposes ``deadline``; the simulator keeps one pending timer per node and fires
it ``jitter`` ms late at most (uniform), as an OS scheduler would. Timers are lazy: a node that
pushed its deadline later is simply re-armed when the old timer fires.

*History.* Every role change, term change, granted vote, crash and restart is recorded in
:attr:`Cluster.history` (and, with ``record_messages``, every delivered message), which
:mod:`dskata.consensus.invariants` checks as a whole.

Thread safety: none.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from dskata.consensus.messages import (
    Accept,
    Accepted,
    AppendEntries,
    HardState,
    Message,
    Ready,
    RequestVote,
    RequestVoteResponse,
)
from dskata.consensus.paxos import Acceptor, Learner, PaxosDurable, PaxosNode, PaxosRole, Proposer
from dskata.consensus.raft import RaftNode, Role, validate_interval, validate_timeout_range
from dskata.hashing import validate_seed

__all__ = ["Cluster", "Event"]

_DELIVER = 0
_TIMER = 1


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a cluster's history.

    Attributes:
        time: simulated ms.
        node: the node it happened at (the receiver for ``"deliver"``).
        kind: ``"leader"``, ``"candidate"``, ``"pre-candidate"``, ``"follower"``, ``"term"``
            (a term adopted without a role change), ``"vote"`` (a vote granted; ``detail`` is the
            candidate), ``"crash"``, ``"restart"``, ``"deliver"`` (``detail`` is the message);
            Paxos adds ``"propose"`` and ``"accept"`` (``detail`` is ``(ballot, value)``) and
            ``"chosen"`` (``detail`` is the value); ``term`` is then the instance (epoch).
        term: the node's term (Raft) or the instance (Paxos) the event belongs to.
        detail: kind-specific, see above.
        sent: for ``"deliver"``, the time the message left its sender.
    """

    time: float
    node: int
    kind: str
    term: int
    detail: object = None
    sent: float | None = None  # for "deliver": when the message left the sender

    def __str__(self) -> str:
        if self.kind == "deliver" and isinstance(self.detail, Message):
            m = self.detail
            return f"t={self.time:.1f} {m.src}->{m.dst} {m}"
        extra = "" if self.detail is None else f" {self.detail}"
        return f"t={self.time:.1f} node {self.node} {self.kind} term={self.term}{extra}"


def _pair(name: str, value: object, *, allow_zero: bool) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a (lo, hi) pair of milliseconds, got {value!r}")
    lo, hi = value
    for v in (lo, hi):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise TypeError(f"{name} values must be numbers, got {value!r}")
    if (
        not (math.isfinite(lo) and math.isfinite(hi))
        or lo < 0
        or hi < lo
        or (not allow_zero and hi == 0)
    ):
        raise ValueError(f"{name} must satisfy 0 <= lo <= hi (finite ms), got {value!r}")
    return float(lo), float(hi)


def _duration(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number of ms, got {value!r}")
    if not 0 <= value < math.inf:
        raise ValueError(f"{name} must be a finite number of ms >= 0, got {value!r}")
    return float(value)


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def _probability(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a probability (float), got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


class Cluster:
    """``n`` Raft or Paxos nodes on a simulated, fault-injecting network.

    Args:
        n: number of nodes. Node ids are ``0 .. n-1``, the index into :attr:`nodes` and what
            ``src``/``dst``, :meth:`crash`, :meth:`partition`, :meth:`block` and
            :meth:`leader` use; the papers' servers S1..Sn are ids 0..n-1 (the thesis's
            "node 4 reaches only node 2" is ``3`` reaching only ``1``).
        protocol: ``"raft"`` or ``"paxos"``.
        seed: an int in ``[0, 2**32)``; seeds everything, the same seed gives the same history.
        election_timeout: ``(lo, hi)`` ms.
        heartbeat_interval: leader heartbeat period in ms (default ``lo / 2``).
        prevote, check_quorum: Raft options (thesis §9.6, §6.2).
        delay: ``(lo, hi)`` one-way message delay in ms, uniform.
        loss: probability a message is dropped.
        duplicate: probability a message is delivered twice.
        disk: ``(lo, hi)`` ms per durable write, uniform (``(0, 0)``: instant).
        jitter: timers fire up to this many ms late (uniform).
        separate_term_write: a Raft voter that adopts a higher term and grants its vote in the
            same step pays two disk writes (the term, then the vote), as LogCabin does.
        leader_write: a new Raft leader pays one disk write (appending its no-op entry, Raft §8)
            before its first heartbeat leaves. A cost model only: the log is not changed.
        logs: per node, the terms of its log entries (Raft; shorter logs can be unelectable).
        record_messages: also record every delivered message in :attr:`history`.
        node_class: a replacement for :class:`~dskata.consensus.raft.RaftNode` (the kata's),
            called with RaftNode's arguments.
        paxos_parts: ``(Acceptor, Proposer, Learner)`` classes for ``protocol="paxos"``.

    Raises:
        TypeError / ValueError: on a malformed argument, naming it.

    Complexity: O(log E) per event for E pending events.

    >>> c = Cluster(3, seed=7)
    >>> c.run_for(1000)
    >>> leader = c.leader()
    >>> leader is not None and c.nodes[leader].role.value
    'leader'
    >>> sum(e.kind == "leader" for e in c.history)
    1
    """

    def __init__(
        self,
        n: int,
        *,
        protocol: str = "raft",
        seed: int = 0,
        election_timeout: tuple[float, float] = (150.0, 300.0),
        heartbeat_interval: float | None = None,
        prevote: bool = False,
        check_quorum: bool = False,
        delay: tuple[float, float] = (1.0, 5.0),
        loss: float = 0.0,
        duplicate: float = 0.0,
        disk: tuple[float, float] = (0.0, 0.0),
        jitter: float = 0.0,
        separate_term_write: bool = False,
        leader_write: bool = False,
        logs: Sequence[Sequence[int]] | None = None,
        record_messages: bool = True,
        node_class: Callable[..., Any] | None = None,
        paxos_parts: tuple[type[Acceptor], type[Proposer], type[Learner]] | None = None,
    ) -> None:
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {n!r}")
        if not 1 <= n <= 1000:
            raise ValueError(f"n must be in [1, 1000], got {n!r}")
        if protocol not in ("raft", "paxos"):
            raise ValueError(f"protocol must be 'raft' or 'paxos', got {protocol!r}")
        seed = validate_seed(seed)
        self.election_timeout = validate_timeout_range(election_timeout)
        if heartbeat_interval is not None:
            validate_interval("heartbeat_interval", heartbeat_interval)
        for flag, value in (
            ("prevote", prevote),
            ("check_quorum", check_quorum),
            ("separate_term_write", separate_term_write),
            ("leader_write", leader_write),
            ("record_messages", record_messages),
        ):
            _flag(flag, value)
        self.delay = _pair("delay", delay, allow_zero=True)
        self.disk = _pair("disk", disk, allow_zero=True)
        self.loss = _probability("loss", loss)
        self.duplicate = _probability("duplicate", duplicate)
        _duration("jitter", jitter)
        if logs is not None:
            if isinstance(logs, (str, bytes)) or not isinstance(logs, Sequence):
                raise TypeError(f"logs must be a sequence of per-node term lists, got {logs!r}")
            if len(logs) != n:
                raise ValueError(f"logs must give one log per node ({n}), got {len(logs)}")
            checked = []
            for i, log in enumerate(logs):
                if isinstance(log, (str, bytes)) or not isinstance(log, Iterable):
                    raise TypeError(f"logs[{i}] must be a sequence of terms, got {log!r}")
                terms = tuple(log)
                if any(isinstance(t, bool) or not isinstance(t, int) for t in terms):
                    raise TypeError(f"logs[{i}] must hold int terms, got {terms!r}")
                if any(t < 0 for t in terms) or any(b < a for a, b in itertools.pairwise(terms)):
                    raise ValueError(
                        f"logs[{i}] must be non-negative, non-decreasing terms, got {terms!r}"
                    )
                checked.append(terms)
            logs = checked
        if protocol == "paxos" and (prevote or check_quorum or logs is not None):
            raise ValueError("prevote, check_quorum and logs are Raft options (protocol='raft')")
        self.n = n
        self.protocol = protocol
        self.seed = seed
        self.heartbeat_interval = heartbeat_interval
        self.prevote = prevote
        self.check_quorum = check_quorum
        self.jitter = float(jitter)
        self.separate_term_write = bool(separate_term_write)
        self.leader_write = bool(leader_write)
        self.record_messages = record_messages
        self._logs: list[tuple[int, ...]] = (
            [tuple(log) for log in logs] if logs is not None else [()] * n
        )
        self._node_class = node_class
        self._paxos_parts = paxos_parts or (Acceptor, Proposer, Learner)
        self.now = 0.0
        self.history: list[Event] = []
        self._rng = random.Random(seed)
        self._queue: list[tuple[Any, ...]] = []
        self._seq = 0
        self._up = [True] * n
        self._inc = [0] * n
        self._crash_time: dict[tuple[int, int], float] = {}
        self._durable: list[object] = [None] * n
        self._pending: list[list[tuple[float, object]]] = [[] for _ in range(n)]
        self._disk_free = [0.0] * n
        self._disk_start = [0.0] * n
        self._timer_for = [math.inf] * n
        self._link = [[True] * n for _ in range(n)]
        self._groups: list[set[int]] | None = None
        self._blocked: set[tuple[int, int]] = set()
        self._stop = False
        self._watch_term: int | None = None
        self._watch_time: float | None = None
        self._stop_on_leader = False
        self._chosen_seen = [0] * n
        # History events whose effects wait on a disk write: voided if the node crashes first.
        # Each entry is (release time, index in history when recorded, the event itself): the
        # index is a fast guess, the identity check keeps it right if a user trimmed history.
        self._unsynced: list[list[tuple[float, int, Event]]] = [[] for _ in range(n)]
        self._end = 0.0
        if protocol == "raft":
            for i, log in enumerate(self._logs):
                if log:
                    self._durable[i] = HardState(log[-1], None)
        self.nodes: list[Any] = [self._make(i) for i in range(n)]
        for i in range(n):
            self._arm(i)

    # ------------------------------------------------------------------ construction

    def _node_seed(self, i: int) -> int:
        return ((self.seed * 1_000_003 + i) * 1_009 + self._inc[i]) & 0xFFFF_FFFF_FFFF

    def _make(self, i: int) -> Any:
        peers = [p for p in range(self.n) if p != i]
        if self.protocol == "raft":
            cls = self._node_class or RaftNode
            hs = self._durable[i]
            return cls(
                i,
                peers,
                election_timeout=self.election_timeout,
                heartbeat_interval=self.heartbeat_interval,
                prevote=self.prevote,
                check_quorum=self.check_quorum,
                seed=self._node_seed(i),
                log_terms=self._logs[i],
                hard_state=hs if isinstance(hs, HardState) else None,
                now=self.now,
            )
        cls = self._node_class or PaxosNode
        acc, prop, learn = self._paxos_parts
        d = self._durable[i]
        return cls(
            i,
            peers,
            election_timeout=self.election_timeout,
            heartbeat_interval=self.heartbeat_interval,
            seed=self._node_seed(i),
            durable=d if isinstance(d, PaxosDurable) else None,
            now=self.now,
            acceptor_class=acc,
            proposer_class=prop,
            learner_class=learn,
        )

    # ------------------------------------------------------------------ faults

    def _check_node(self, node: object) -> int:
        if isinstance(node, bool) or not isinstance(node, int):
            raise TypeError(f"node must be an int id, got {node!r}")
        if not 0 <= node < self.n:
            raise ValueError(f"node must be in [0, {self.n}), got {node!r}")
        return node

    def is_up(self, node: int) -> bool:
        """Whether ``node`` is running (not crashed).

        Complexity: O(1).
        """
        return self._up[self._check_node(node)]

    def crash(self, node: int) -> None:
        """Stop ``node``: writes not yet on disk and the messages they held are lost.

        Raises:
            ValueError: if the node is already down.

        Complexity: O(pending writes).
        """
        i = self._check_node(node)
        if not self._up[i]:
            raise ValueError(f"node {i} is already crashed")
        self._flush_disk(i, self.now)
        self._pending[i] = []
        h = self.history
        for release, k, e in self._unsynced[i]:
            if release > self.now:
                # Never persisted, never sent: to the rest of the world it did not happen.
                if not (k < len(h) and h[k] is e):  # history was trimmed since: find it again
                    k = next((j for j in range(len(h) - 1, -1, -1) if h[j] is e), -1)
                if k >= 0:
                    h[k] = Event(e.time, e.node, "lost-" + e.kind, e.term, e.detail)
        self._unsynced[i] = []
        self._up[i] = False
        self._crash_time[(i, self._inc[i])] = self.now
        self._inc[i] += 1
        self._disk_free[i] = self.now
        self._timer_for[i] = math.inf
        self.history.append(Event(self.now, i, "crash", self.nodes[i].term))

    def restart(self, node: int) -> None:
        """Restart a crashed ``node`` from its durable state (term, vote; acceptor promises).

        Raises:
            ValueError: if the node is running.

        Complexity: O(n).
        """
        i = self._check_node(node)
        if self._up[i]:
            raise ValueError(f"node {i} is running; crash it first")
        self._up[i] = True
        self._chosen_seen[i] = 0
        self.nodes[i] = self._make(i)
        self.history.append(Event(self.now, i, "restart", self.nodes[i].term))
        self._arm(i)

    def campaign(self, node: int) -> None:
        """Make a running Raft ``node`` start an election now (a test and tooling hook).

        Raises:
            ValueError: if the node is down, already leader, or the protocol is not Raft.

        Complexity: O(n).
        """
        i = self._check_node(node)
        if self.protocol != "raft":
            raise ValueError(f"campaign is a Raft operation; protocol is {self.protocol!r}")
        if not self._up[i]:
            raise ValueError(f"node {i} is crashed")
        n = self.nodes[i]
        role, term = n.role, n.term
        ready = n.campaign(self.now)
        self._after_step(i, n, role, term, ready, self.now, None)
        self._arm(i)

    def transfer_leadership(self, node: int, target: int) -> None:
        """Ask the Raft leader ``node`` to hand over to ``target`` (thesis §3.10).

        Raises:
            ValueError: if ``node`` is down or not the leader, or ``target`` is not a peer.

        Complexity: O(1).
        """
        i = self._check_node(node)
        self._check_node(target)
        if self.protocol != "raft":
            raise ValueError(f"transfer is a Raft operation; protocol is {self.protocol!r}")
        if not self._up[i]:
            raise ValueError(f"node {i} is crashed")
        n = self.nodes[i]
        ready = n.transfer_leadership(target, self.now)
        self._after_step(i, n, n.role, n.term, ready, self.now, None)

    def _groups_of(self, groups: Iterable[Iterable[int]]) -> list[set[int]]:
        out: list[set[int]] = []
        seen: set[int] = set()
        for g in groups:
            if isinstance(g, (str, bytes)) or not isinstance(g, Iterable):
                raise TypeError(f"each group must be an iterable of node ids, got {g!r}")
            s = {self._check_node(x) for x in g}
            if s & seen:
                raise ValueError(f"groups must be disjoint; node(s) {sorted(s & seen)} repeat")
            seen |= s
            out.append(s)
        return out

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the network: nodes talk only within their group.

        The nodes named in no group form one more group together, as in Jepsen's and
        HashiCorp Raft's partitions: ``partition([leader])`` cuts the leader off from the rest,
        which stay connected; ``partition([0, 1], [2], [3])`` on 5 nodes leaves ``4`` alone.
        To isolate every node, name each one. Replaces any previous partition; one-way blocks
        stay until :meth:`heal`.

        Raises:
            TypeError / ValueError: a group is not an iterable of node ids, an id is out of
                range, or groups overlap (nothing changes then).

        Complexity: O(n^2).

        >>> c = Cluster(5)
        >>> c.partition([0])
        >>> c.connected(0, 1), c.connected(1, 4)
        (False, True)
        """
        parsed = self._groups_of(groups)
        rest = set(range(self.n)).difference(*parsed)
        if rest:
            parsed.append(rest)
        self._groups = parsed
        self._relink()

    def block(self, src: int, dst: int) -> None:
        """Cut the one-way link ``src -> dst`` (``dst -> src`` still works).

        Complexity: O(n^2).
        """
        s, d = self._check_node(src), self._check_node(dst)
        if s == d:
            raise ValueError(f"src and dst must differ, got {src} and {dst}")
        self._blocked.add((s, d))
        self._relink()

    def heal(self) -> None:
        """Remove every partition and block.

        Complexity: O(n^2).
        """
        self._groups = None
        self._blocked = set()
        self._relink()

    def connected(self, src: int, dst: int) -> bool:
        """Whether a message ``src -> dst`` would currently be delivered (link-wise).

        Complexity: O(1).
        """
        return self._link[self._check_node(src)][self._check_node(dst)]

    def _relink(self) -> None:
        n = self.n
        group_of = [-1] * n
        if self._groups is not None:
            for gi, g in enumerate(self._groups):
                for x in g:
                    group_of[x] = gi
        for s in range(n):
            row = self._link[s]
            for d in range(n):
                ok = True
                if self._groups is not None:
                    ok = s == d or (group_of[s] >= 0 and group_of[s] == group_of[d])
                row[d] = ok and (s, d) not in self._blocked
        for s in range(n):
            self._link[s][s] = True

    # ------------------------------------------------------------------ queries

    def leader(self) -> int | None:
        """The running node that is leader of the highest term (epoch), or ``None``.

        Complexity: O(n).
        """
        best: int | None = None
        best_term = -1
        for i, node in enumerate(self.nodes):
            if self._up[i] and node.role.value == "leader" and node.term > best_term:
                best, best_term = i, node.term
        return best

    def transcript(self, last: int = 40) -> str:
        """The last ``last`` history events, one per line (what a violation report shows).

        Complexity: O(last).
        """
        return "\n".join(str(e) for e in self.history[-last:])

    # ------------------------------------------------------------------ running

    def run_for(self, ms: float) -> None:
        """Advance simulated time by ``ms``, processing every event due in between.

        Complexity: O(E log Q) for E events processed and Q pending.
        """
        _duration("ms", ms)
        self._run(self.now + ms)
        self.now = max(self.now, self._end)

    def run_until(self, predicate: Callable[[], bool], *, timeout: float) -> bool:
        """Run until ``predicate()`` holds (checked after every event) or ``timeout`` ms pass.

        Returns whether the predicate held.

        Complexity: O(E log Q), plus one predicate call per event.
        """
        _duration("timeout", timeout)
        if predicate():
            return True
        end = self.now + timeout
        q = self._queue
        while q and q[0][0] <= end:
            self._run(q[0][0], one=True)
            if predicate():
                return True
        self.now = end
        return predicate()

    def run_until_leader(self, *, timeout: float) -> int | None:
        """Run until some node is leader (returns its id) or ``timeout`` ms pass (``None``).

        Returns at once if a running node already is the leader.

        Complexity: O(E log Q).
        """
        _duration("timeout", timeout)
        current = self.leader()
        if current is not None:
            return current
        self._stop_on_leader = True
        try:
            self._run(self.now + timeout)
        finally:
            self._stop_on_leader = False
        if not self._stop:
            self.now = max(self.now, self._end)
        self._stop = False
        return self.leader()

    def run_until_heartbeat(self, above_term: int, *, timeout: float) -> float | None:
        """Run until a running node receives AppendEntries with a term above ``above_term``.

        Returns the time of that delivery (the end of the Figure 16 measurement), or ``None``
        after ``timeout`` ms.

        Complexity: O(E log Q).
        """
        _duration("timeout", timeout)
        self._watch_term = above_term
        self._watch_time = None
        try:
            self._run(self.now + timeout)
        finally:
            self._watch_term = None
        if not self._stop:
            self.now = max(self.now, self._end)
        self._stop = False
        return self._watch_time

    # ------------------------------------------------------------------ the event loop

    def _arm(self, i: int) -> None:
        d = self.nodes[i].deadline
        if d < self._timer_for[i]:
            self._timer_for[i] = d
            fire = d + self.jitter * self._rng.random() if self.jitter else d
            if fire < self.now:
                fire = self.now
            self._seq += 1
            heapq.heappush(self._queue, (fire, self._seq, _TIMER, i, self._inc[i], d))

    def _flush_disk(self, i: int, now: float) -> None:
        pend = self._pending[i]
        while pend and pend[0][0] <= now:
            self._durable[i] = pend.pop(0)[1]
        uns = self._unsynced[i]
        if uns and uns[-1][0] <= now:
            uns.clear()

    def _send_all(self, msgs: list[Message], release: float) -> None:
        q = self._queue
        push = heapq.heappush
        rng = self._rng.random
        loss = self.loss
        dup = self.duplicate
        lo, hi = self.delay
        span = hi - lo
        incs = self._inc
        for msg in msgs:
            src = msg.src
            self._seq += 1
            if msg.dst == src:  # local delivery: no network
                push(q, (release, self._seq, _DELIVER, msg, incs[src], release))
                continue
            if loss and rng() < loss:
                continue
            push(q, (release + lo + span * rng(), self._seq, _DELIVER, msg, incs[src], release))
            if dup and rng() < dup:
                self._seq += 1
                push(q, (release + lo + span * rng(), self._seq, _DELIVER, msg, incs[src], release))

    def _apply(self, i: int, ready: Ready, now: float, extra_write: bool = False) -> float:
        persist = ready.persist
        if persist is not None:
            lo, hi = self.disk
            if hi > 0:
                pend = self._pending[i]
                if pend:
                    self._flush_disk(i, now)
                if pend and self._disk_start[i] > now:
                    # Group commit: the queued write has not started; it carries this state too.
                    pend[-1] = (pend[-1][0], persist)
                    release = pend[-1][0]
                else:
                    start = self._disk_free[i] if self._disk_free[i] > now else now
                    done = start + lo + (hi - lo) * self._rng.random()
                    if extra_write:
                        done += lo + (hi - lo) * self._rng.random()
                    self._disk_start[i] = start
                    self._disk_free[i] = done
                    pend.append((done, persist))
                    release = done
            else:
                if self._pending[i]:
                    self._flush_disk(i, now)
                self._durable[i] = persist
                release = self._disk_free[i] if self._disk_free[i] > now else now
        else:
            release = self._disk_free[i] if self._disk_free[i] > now else now
        if ready.messages:
            self._send_all(ready.messages, release)
        return release

    def _after_step(
        self, i: int, node: Any, role: Any, term: int, ready: Ready, t: float, msg: Any
    ) -> None:
        """Record history, persist, send; the slow path of a step that changed state."""
        history = self.history
        mark = len(history)
        if self.protocol == "raft":
            self._observe_raft(i, node, role, term, ready, t)
            new_role = node.role
            if self.leader_write and new_role is not role and new_role is Role.LEADER:
                ready.persist = node.hard_state  # the no-op entry's write
            extra = (
                self.separate_term_write
                and node.term != term
                and type(msg) is RequestVote
                and node.voted_for == msg.src
            )
        else:
            self._observe_paxos(i, node, role, term, ready, t)
            extra = False
        release = self._apply(i, ready, t, extra)
        if release > t and len(history) > mark:
            self._unsynced[i].extend((release, k, history[k]) for k in range(mark, len(history)))

    def _run(self, until: float, one: bool = False) -> None:
        self._end = until
        self._stop = False
        q = self._queue
        pop = heapq.heappop
        up = self._up
        incs = self._inc
        nodes = self.nodes
        link = self._link
        record = self.record_messages
        history = self.history
        raft = self.protocol == "raft"
        disk_free = self._disk_free
        timer_for = self._timer_for
        send_all = self._send_all
        after = self._after_step
        watch = self._watch_term
        while q and q[0][0] <= until:
            t, _, kind, a, inc, extra = pop(q)
            self.now = t
            if kind == _DELIVER:
                msg: Any = a
                src = msg.src
                dst = msg.dst
                if inc != incs[src] and extra > self._crash_time[(src, inc)]:
                    pass  # the sender crashed before this message left its disk queue
                elif up[dst] and link[src][dst]:
                    if record:
                        history.append(
                            Event(t, dst, "deliver", msg.term if raft else msg.instance, msg, extra)
                        )
                    node = nodes[dst]
                    role, term = node.role, node.term
                    if raft:
                        voted = node.voted_for
                        ready = node.step(msg, t)
                        if (
                            ready.persist is None
                            and node.role is role
                            and node.term == term
                            and node.voted_for == voted
                        ):
                            # Fast path: no state change, nothing to record or write.
                            if ready.messages:
                                df = disk_free[dst]
                                send_all(ready.messages, df if df > t else t)
                        else:
                            after(dst, node, role, term, ready, t, msg)
                        if watch is not None and type(msg) is AppendEntries and msg.term > watch:
                            self._watch_time = t
                            self._stop = True
                    else:
                        ready = node.step(msg, t)
                        after(dst, node, role, term, ready, t, msg)
                    if node.deadline < timer_for[dst]:
                        self._arm(dst)
            else:
                i = a
                if inc != incs[i] or extra != timer_for[i] or not up[i]:
                    pass  # a stale timer (re-armed, or from before a crash)
                else:
                    timer_for[i] = math.inf
                    node = nodes[i]
                    if node.deadline <= t:
                        role, term = node.role, node.term
                        ready = node.tick(t)
                        after(i, node, role, term, ready, t, None)
                    self._arm(i)
            if self._stop or one:
                return

    def _observe_raft(
        self, i: int, node: Any, role: Any, term: int, ready: Ready, t: float
    ) -> None:
        new_role = node.role
        if new_role is not role or node.term != term:
            h = self.history
            nt = node.term
            if new_role is not role or new_role is Role.CANDIDATE:
                h.append(Event(t, i, new_role.value, nt))
                if new_role is Role.CANDIDATE:
                    h.append(Event(t, i, "vote", nt, i))
                elif new_role is Role.LEADER:
                    if role is not Role.CANDIDATE:  # single-node: candidate and leader at once
                        h.insert(len(h) - 1, Event(t, i, "vote", nt, i))
                    if self._stop_on_leader:
                        self._stop = True
            else:
                h.append(Event(t, i, "term", nt))
        for m in ready.messages:
            if type(m) is RequestVoteResponse and m.vote_granted:
                self.history.append(Event(t, i, "vote", m.term, m.dst))

    def _observe_paxos(
        self, i: int, node: Any, role: Any, term: int, ready: Ready, t: float
    ) -> None:
        h = self.history
        new_role = node.role
        nt = node.term
        proposed = accepted = False
        for m in ready.messages:
            tm = type(m)
            if tm is Accept and not proposed:
                proposed = True
                h.append(Event(t, i, "propose", m.instance, (m.ballot, m.value)))  # type: ignore[attr-defined]
            elif tm is Accepted and not accepted:
                accepted = True
                h.append(Event(t, i, "accept", m.instance, (m.ballot, m.value)))  # type: ignore[attr-defined]
        chosen = node.chosen
        seen = self._chosen_seen[i]
        if len(chosen) != seen:
            for inst in list(chosen)[seen:]:
                h.append(Event(t, i, "chosen", inst, chosen[inst]))
            self._chosen_seen[i] = len(chosen)
        if new_role is not role or nt != term:
            h.append(Event(t, i, new_role.value if new_role is not role else "epoch", nt))
            if new_role is PaxosRole.LEADER and self._stop_on_leader:
                self._stop = True
