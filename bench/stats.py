"""Small, dependency-free statistics for latency samples."""

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile (0..100) by the nearest-rank method.

    Nearest rank never invents a value: the result is always one of the
    samples, the smallest one with at least ``p`` percent of samples at or
    below it. ``None`` for no samples.
    """
    if not samples:
        return None
    if not 0 <= p <= 100:
        raise ValueError("p must be between 0 and 100")
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(samples: Sequence[float]) -> dict:
    """p50 / p95 / p99 / max and the count, in the samples' unit."""
    ordered = sorted(samples)
    n = len(ordered)

    def rank(p):
        return ordered[max(1, math.ceil(p / 100 * n)) - 1] if n else None

    return {
        "count": n,
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": ordered[-1] if n else None,
        "mean": sum(ordered) / n if n else None,
    }


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or ``None`` when either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b
