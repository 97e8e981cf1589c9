"""Caches: a fast LRU, ``functools``-compatible memoisation, modern eviction policies, simulation.

* :class:`LRUCache`: the least-recently-used mapping, cachetools-compatible, fast, optionally
  locked; :func:`lru_cache`, :func:`cached` and :func:`cachedmethod` memoise with it.
* Policies with the same mapping API: :class:`FIFOCache`, :class:`LFUCache`, :class:`TTLCache`,
  :class:`ARCCache`, :class:`SIEVECache`, :class:`S3FIFOCache`, :class:`WTinyLFUCache`; and
  :func:`belady_hits`, the offline optimum.
* :func:`simulate` replays traces (generated or read from files) through them.
"""

from dskata.cache._common import CacheInfo
from dskata.cache.arc import ARCCache
from dskata.cache.belady import belady_hits
from dskata.cache.decorators import (
    CachedFunction,
    FunctionCacheInfo,
    cached,
    cachedmethod,
    hashkey,
    lru_cache,
    methodkey,
    typedkey,
    typedmethodkey,
)
from dskata.cache.fifo import FIFOCache
from dskata.cache.lfu import LFUCache
from dskata.cache.lru import LRUCache
from dskata.cache.s3fifo import S3FIFOCache
from dskata.cache.sieve import SIEVECache
from dskata.cache.simulate import (
    SimulationResult,
    loop_trace,
    one_hit_wonder_trace,
    read_trace_csv,
    read_trace_text,
    scan_zipf_trace,
    simulate,
    zipf_trace,
)
from dskata.cache.ttl import TTLCache
from dskata.cache.wtinylfu import WTinyLFUCache

__all__ = [
    "ARCCache",
    "CacheInfo",
    "CachedFunction",
    "FIFOCache",
    "FunctionCacheInfo",
    "LFUCache",
    "LRUCache",
    "S3FIFOCache",
    "SIEVECache",
    "SimulationResult",
    "TTLCache",
    "WTinyLFUCache",
    "belady_hits",
    "cached",
    "cachedmethod",
    "hashkey",
    "loop_trace",
    "lru_cache",
    "methodkey",
    "one_hit_wonder_trace",
    "read_trace_csv",
    "read_trace_text",
    "scan_zipf_trace",
    "simulate",
    "typedkey",
    "typedmethodkey",
    "zipf_trace",
]
