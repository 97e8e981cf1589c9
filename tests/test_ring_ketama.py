"""Ketama rings place keys exactly as libketama (ketama.c: ketama_create_continuum, _get_server)."""

from __future__ import annotations

import hashlib
import math
import struct

import numpy as np
import pytest

from dskata.ring.hashring import HashRing
from dskata.ring.ketama import ketama_digest_counts, ketama_hash, ketama_hash_many, ketama_points

SERVERS = ["10.0.1.1:11211", "10.0.1.2:11211", "10.0.1.3:11211"]


def f32(x: float) -> float:
    """Round a double to the nearest float32 (C's implicit double -> float conversion)."""
    return float(struct.unpack("f", struct.pack("f", x))[0])


def libketama_digests(weights: list[int]) -> list[int]:
    """ketama.c: pct = (float)mem / (float)total; ks = floorf(pct * 40.0 * (float)numservers)."""
    total = f32(float(sum(weights)))
    n = len(weights)
    return [math.floor(f32(f32(f32(float(w)) / total) * 40.0 * f32(float(n)))) for w in weights]


def libketama_continuum(weights: dict[str, int]) -> list[tuple[int, str]]:
    """ketama.c's continuum: md5("%s-%d"), four little-endian points per digest, stable sort."""
    points = []
    for (server, _), ks in zip(
        weights.items(), libketama_digests(list(weights.values())), strict=True
    ):
        for k in range(ks):
            digest = hashlib.md5(f"{server}-{k}".encode()).digest()
            for h in range(4):
                b = digest[4 * h : 4 * h + 4]
                points.append(((b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0], server))
    return sorted(points, key=lambda p: p[0])  # Python's sort is stable, like glibc's merge sort


def libketama_get_server(h: int, continuum: list[tuple[int, str]]) -> str:
    """A line-by-line port of ketama_get_server's binary search, with its signed ints."""
    highp = len(continuum)
    lowp = 0
    while True:
        midp = (lowp + highp) // 2
        if midp == len(continuum):
            return continuum[0][1]
        midval = continuum[midp][0]
        midval1 = 0 if midp == 0 else continuum[midp - 1][0]
        if midval1 < h <= midval:
            return continuum[midp][1]
        if midval < h:
            lowp = midp + 1
        else:
            highp = midp - 1
        if lowp > highp:
            return continuum[0][1]


def test_ketama_hash_is_the_first_four_md5_bytes_little_endian() -> None:
    # md5("foo") = acbd18db 4cc2f85c ...: bytes ac bd 18 db read little-endian.
    assert ketama_hash("foo") == 0xDB18BDAC == 3675831724
    assert ketama_hash(b"foo") == ketama_hash("foo")
    assert ketama_hash("") == int.from_bytes(hashlib.md5(b"").digest()[:4], "little")


def test_ketama_points_are_four_slices_of_each_server_digest() -> None:
    digest = hashlib.md5(b"10.0.1.1:11211-0").digest()
    expected = [int.from_bytes(digest[i : i + 4], "little") for i in (0, 4, 8, 12)]
    assert (
        ketama_points("10.0.1.1:11211", 1)
        == expected
        == [
            2431485715,
            4123933443,
            100894374,
            2720740989,
        ]
    )


def test_equal_weight_servers_get_160_points_each() -> None:
    ring = HashRing.ketama(SERVERS)
    assert ring.point_counts() == dict.fromkeys(SERVERS, 160)
    ring._check()


def test_the_continuum_matches_libketama_point_for_point() -> None:
    weights = {"a:11211": 100, "b:11211": 250, "c:11211": 650, "d:11211": 1}
    ring = HashRing.ketama(weights)
    assert ring.points() == libketama_continuum(weights)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 10, 61, 100, 122, 200])
def test_digest_counts_use_libketamas_float32_arithmetic(n: int) -> None:
    assert ketama_digest_counts([1] * n) == libketama_digests([1] * n)


def test_61_equal_servers_get_156_points_each_as_in_libketama() -> None:
    """float32(1/61) * 40 * 61 = 39.999998, so floorf gives 39 digests: a libketama quirk."""
    assert ketama_digest_counts([1] * 61) == [39] * 61
    ring = HashRing.ketama([f"s{i}" for i in range(61)])
    assert set(ring.point_counts().values()) == {156}


def test_weighted_servers_get_points_in_proportion() -> None:
    ring = HashRing.ketama({"a:1": 100, "b:1": 200, "c:1": 300})
    assert ring.point_counts() == {"a:1": 80, "b:1": 160, "c:1": 240}


def test_lookups_match_a_port_of_ketama_get_server() -> None:
    weights = {f"10.0.0.{i}:11211": 64 + 13 * i for i in range(9)}
    continuum = libketama_continuum(weights)
    ring = HashRing.ketama(weights)
    keys = [f"user:{i}" for i in range(3000)]
    expected = [libketama_get_server(ketama_hash(k), continuum) for k in keys]
    assert [ring.node_for(k) for k in keys] == expected
    assert [ring.nodes[i] for i in ring.node_for_many(keys)] == expected


def test_a_key_hash_equal_to_a_point_goes_to_that_point_and_zero_to_the_first() -> None:
    weights = dict.fromkeys(SERVERS, 1)
    continuum = libketama_continuum(weights)
    ring = HashRing.ketama(SERVERS)
    hashes = sorted(
        {0, 2**32 - 1}
        | {p for p, _ in continuum}
        | {p - 1 for p, _ in continuum}
        | {p + 1 for p, _ in continuum}
    )
    hashes = [h for h in hashes if 0 <= h < 2**32]
    got = ring._lookup_hashes(np.array(hashes, dtype=np.uint64))
    assert [ring.nodes[i] for i in got] == [libketama_get_server(h, continuum) for h in hashes]


def test_adding_a_server_recomputes_counts_like_a_new_server_file() -> None:
    ring = HashRing.ketama({"a:1": 1, "b:1": 3})
    ring.add_node("c:1", 4)
    assert ring == HashRing.ketama({"a:1": 1, "b:1": 3, "c:1": 4})
    ring.remove_node("b:1")
    assert ring == HashRing.ketama({"a:1": 1, "c:1": 4})
    ring._check()


def test_equal_points_keep_generation_order_like_glibc_qsort() -> None:
    ring = HashRing.ketama(["a", "b"])
    points = np.array([5, 9, 5, 1], dtype=np.uint64)
    owners = np.array([1, 0, 0, 1], dtype=np.intp)
    ring._counts = [2, 2]
    ring._set_points(points, owners)
    assert ring._points.tolist() == [1, 5, 5, 9]
    assert ring._owners.tolist() == [1, 1, 0, 0]


def test_ketama_keys_must_be_strings_without_nul() -> None:
    ring = HashRing.ketama(SERVERS)
    with pytest.raises(TypeError, match="str or bytes"):
        ring.node_for(42)
    with pytest.raises(ValueError, match="NUL"):
        ring.node_for("a\x00b")
    with pytest.raises(TypeError, match="single str"):
        ketama_hash_many("abc")
    with pytest.raises(TypeError, match="server names must be str or bytes"):
        HashRing.ketama([1, 2])  # type: ignore[list-item]
    before = ring.copy()
    with pytest.raises(TypeError):
        ring.add_node(7)
    with pytest.raises(ValueError):
        ring.add_node("bad\x00name")
    assert ring == before


def test_ketama_batch_hashes_equal_scalar_hashes() -> None:
    keys: list[str | bytes] = ["a", "b", b"c", "é"]
    assert ketama_hash_many(keys).tolist() == [ketama_hash(k) for k in keys]
    assert ketama_hash_many(np.array(["a", "b"])).tolist() == [ketama_hash("a"), ketama_hash("b")]


def test_uhashring_ketama_mode_agrees_on_equal_weights() -> None:
    """uhashring's dialect: same points at equal weight, bisect_right (differs only on equality)."""
    uhashring = pytest.importorskip("uhashring")
    servers = [f"10.0.{i}.{j}:11211" for i in range(3) for j in range(5)]
    theirs = uhashring.HashRing(servers, hash_fn="ketama")
    ours = HashRing.ketama(servers)
    their_points = sorted(p for p, _ in theirs.get_points())
    assert their_points == [p for p, _ in ours.points()]
    keys = [f"key:{i}" for i in range(5000)]
    point_set = set(their_points)
    keys = [k for k in keys if ketama_hash(k) not in point_set]
    assert [theirs.get_node(k) for k in keys] == [ours.node_for(k) for k in keys]


def test_ketama_hashes_lone_surrogates_as_surrogatepass_utf8() -> None:
    """Any str is a key (os.fsdecode of bad bytes included), hashed as dskata.hashing does."""
    key = "file-\udcff"
    raw = key.encode("utf-8", "surrogatepass")
    assert ketama_hash(key) == ketama_hash(raw)
    assert ketama_hash_many([key]).tolist() == [ketama_hash(raw)]
    ring = HashRing.ketama(["a", "b", "c"])
    assert ring.node_for(key) == ring.node_for(raw)  # type: ignore[arg-type]
