"""Consensus: sans-IO Raft and Paxos nodes, a deterministic simulator and an invariant checker.

See ``docs/consensus.md``. The nodes never do I/O or read a clock; :class:`Cluster` drives them
on a seeded, fault-injecting simulated network, and :func:`check_history` verifies complete
histories.
"""

from dskata.consensus.experiments import LOGCABIN_2014, Calibration, churn, figure16, fuzz
from dskata.consensus.invariants import (
    InvariantViolation,
    Violation,
    assert_invariants,
    check_history,
)
from dskata.consensus.messages import (
    Accept,
    Accepted,
    AppendEntries,
    AppendEntriesResponse,
    Ballot,
    HardState,
    Heartbeat,
    Message,
    Nack,
    Prepare,
    PreVote,
    PreVoteResponse,
    Promise,
    Ready,
    RequestVote,
    RequestVoteResponse,
    TimeoutNow,
)
from dskata.consensus.paxos import (
    Acceptor,
    AcceptorState,
    Learner,
    PaxosDurable,
    PaxosNode,
    PaxosRole,
    Proposer,
)
from dskata.consensus.raft import TRANSITIONS, RaftNode, Role, log_up_to_date
from dskata.consensus.sim import Cluster, Event

__all__ = [
    "LOGCABIN_2014",
    "TRANSITIONS",
    "Accept",
    "Accepted",
    "Acceptor",
    "AcceptorState",
    "AppendEntries",
    "AppendEntriesResponse",
    "Ballot",
    "Calibration",
    "Cluster",
    "Event",
    "HardState",
    "Heartbeat",
    "InvariantViolation",
    "Learner",
    "Message",
    "Nack",
    "PaxosDurable",
    "PaxosNode",
    "PaxosRole",
    "PreVote",
    "PreVoteResponse",
    "Prepare",
    "Promise",
    "Proposer",
    "RaftNode",
    "Ready",
    "RequestVote",
    "RequestVoteResponse",
    "Role",
    "TimeoutNow",
    "Violation",
    "assert_invariants",
    "check_history",
    "churn",
    "figure16",
    "fuzz",
    "log_up_to_date",
]
