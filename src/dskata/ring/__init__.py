"""Consistent hashing: which node owns a key, and what moves when nodes come and go.

* :class:`HashRing`: a ring with virtual nodes, weights, replicas (``nodes_for``), batch lookups,
  migration plans (``moved``); :meth:`HashRing.ketama` places keys exactly as libketama.
* :func:`jump_hash` / :func:`jump_hash_many`: Lamping and Veach's stateless jump hash.
* :class:`RendezvousHash`: highest random weight, weighted.
* :class:`MaglevHash`: Maglev's lookup table (perfect balance, small disruption).
* :class:`MultiProbeHash`: one point per node, many probes per key.
* :class:`BoundedLoadAssigner`: consistent hashing with bounded loads.

``docs/ring.md`` explains when to use which.
"""

from dskata.ring.bounded import BoundedLoadAssigner
from dskata.ring.hashring import HashRing, Move
from dskata.ring.jump import jump_hash, jump_hash_many
from dskata.ring.ketama import ketama_hash
from dskata.ring.maglev import MaglevHash
from dskata.ring.multiprobe import MultiProbeHash
from dskata.ring.rendezvous import RendezvousHash

__all__ = [
    "BoundedLoadAssigner",
    "HashRing",
    "MaglevHash",
    "Move",
    "MultiProbeHash",
    "RendezvousHash",
    "jump_hash",
    "jump_hash_many",
    "ketama_hash",
]
