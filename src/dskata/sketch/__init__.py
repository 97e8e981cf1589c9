"""Sketches of streams: the count-min sketch and heavy hitters (top-k).

* :class:`CountMinSketch` (:mod:`dskata.sketch.count_min`): the frequency of any key, never
  underestimated, in ``width * depth`` counters.
* :class:`TopK` (:mod:`dskata.sketch.topk`): SpaceSaving heavy hitters with per-key bounds, and
  :class:`CountMinTopK` (:mod:`dskata.sketch.cm_topk`), the classic count-min plus heap
  variant, for comparison.
"""

from dskata.sketch.cm_topk import CountMinTopK
from dskata.sketch.count_min import CountMinSketch, ErrorBound
from dskata.sketch.topk import HeavyHitter, TopK

__all__ = ["CountMinSketch", "CountMinTopK", "ErrorBound", "HeavyHitter", "TopK"]
