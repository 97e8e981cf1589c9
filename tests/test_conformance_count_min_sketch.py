"""The count-min-sketch kata's contract, run on dskata's own CountMinSketch."""

from dskata.conformance.count_min_sketch import *  # noqa: F403
