"""Bloom filters: the standard, counting and scalable variants (``dskata.bloom``).

* :class:`BloomFilter` (Bloom 1970): set membership in ``m`` bits with ``k`` hashes, sized by
  the optimal formulas from a capacity and a target false-positive rate.
* :class:`CountingBloomFilter` (Fan et al. 2000): 4-bit saturating counters, so keys can be
  removed.
* :class:`ScalableBloomFilter` (Almeida et al. 2007): grows as keys arrive and keeps the
  compounded false-positive rate at or below its target.

All three hash through :mod:`dskata.hashing` (stable across processes), have scalar and numpy
batch paths that agree bit for bit, and serialise to the shared :mod:`dskata.serial` envelope.
None is thread-safe: guard concurrent writers with a lock.
"""

from dskata.bloom.counting import CountingBloomFilter, NotInFilterError
from dskata.bloom.scalable import ScalableBloomFilter
from dskata.bloom.standard import BloomFilter

__all__ = ["BloomFilter", "CountingBloomFilter", "NotInFilterError", "ScalableBloomFilter"]
