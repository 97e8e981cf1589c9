"""Interleaved ring benchmarks: python benchmarks/ring_interleaved.py (needs uhashring, jump).

Implementations alternate round by round (A B C A B C ...) and medians are reported, so that load
drift on a shared machine hits every implementation alike. docs/ring.md quotes its output.
"""

import bisect
import statistics
import time

import jump
import numpy as np
import uhashring

from dskata.hashing import hash64, hash64_many
from dskata.ring import HashRing, jump_hash_many


def run(name, impls, rounds=9):
    for f in impls.values():
        f()  # warm-up
    times = {k: [] for k in impls}
    for _ in range(rounds):
        for k, f in impls.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med[next(iter(impls))]
    print(
        name,
        " | ".join(f"{k}: {v * 1e3:.2f} ms ({v / base:.2f}x)" for k, v in med.items()),
        flush=True,
    )
    return med


def main() -> None:
    names = [f"cache-{i:03d}" for i in range(100)]
    ring = HashRing(names, vnodes=160)
    keys = np.random.default_rng(0).integers(0, 2**64 - 1, size=1_000_000, dtype=np.uint64)
    ring.node_for_many(keys[:10])
    ring.nodes_for_many(keys[:10], 3)
    pts, own = ring._points, ring._owners

    def ss():
        pos = np.searchsorted(pts, hash64_many(keys))
        pos[pos == pts.shape[0]] = 0
        return own[pos]

    m = run(
        "node_for_many 1M:", {"dskata": lambda: ring.node_for_many(keys), "np.searchsorted": ss}
    )
    print(f"   dskata {1e6 / m['dskata'] / 1e6:.1f}M keys/s")
    m = run("nodes_for_many(3) 1M:", {"dskata": lambda: ring.nodes_for_many(keys, 3)})
    print(f"   dskata {1e6 / m['dskata'] / 1e6:.1f}M keys/s")
    sk = [f"user:{i}" for i in range(100_000)]
    u = uhashring.HashRing(names, vnodes=160)
    nf = ring.node_for
    ring.nodes_for("x", 3)
    nfs = ring.nodes_for
    plist = [p for p, _ in ring.points()]
    pn = [n for _, n in ring.points()]
    P = len(plist)

    def bis():
        out = []
        for k in sk:
            i = bisect.bisect_left(plist, hash64(k))
            out.append(pn[i if i < P else 0])
        return out

    m = run(
        "node_for str 100k:",
        {
            "dskata": lambda: [nf(k) for k in sk],
            "uhashring": lambda: [u.get_node(k) for k in sk],
            "bisect list": bis,
        },
    )
    m = run("nodes_for(3) str 100k:", {"dskata": lambda: [nfs(k, 3) for k in sk]})
    print(f"   dskata {1e5 / m['dskata'] / 1e6:.2f}M keys/s")
    kr = HashRing.ketama(names)
    uk = uhashring.HashRing(names, hash_fn="ketama")
    kn = kr.node_for
    kn("x")
    run(
        "ketama node_for str 100k:",
        {
            "dskata": lambda: [kn(k) for k in sk],
            "uhashring ketama": lambda: [uk.get_node(k) for k in sk],
        },
    )
    kl = keys.tolist()
    h = jump.hash
    run(
        "jump 1M x 1000 buckets:",
        {
            "dskata jump_hash_many": lambda: jump_hash_many(keys, 1000),
            "jump loop": lambda: [h(k, 1000) for k in kl],
        },
    )
    m = run(
        "build 100x160:",
        {
            "dskata": lambda: HashRing(names, vnodes=160),
            "uhashring": lambda: uhashring.HashRing(names, vnodes=160),
        },
        rounds=15,
    )

    def add():
        c = ring.copy()
        t = time.perf_counter()
        c.add_node("cache-new")
        return time.perf_counter() - t

    ts = sorted(add() for _ in range(15))
    print(f"add_node to 100x160: median {ts[7] * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
