"""Latency statistics: percentiles, coefficient of variation, seeded bootstrap intervals. numpy only.

Samples are per-inference wall times in nanoseconds; summaries are in milliseconds. Percentiles use
numpy's default linear interpolation. Bootstrap intervals are percentile intervals over ``resamples``
resamples drawn with a fixed seed, so the same samples always give the same interval. Consecutive
latencies are not independent (thermal drift, frequency scaling): the intervals are a guide to run-to-run
noise, not a guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

RESAMPLES = 2000
SEED = 0
CONFIDENCE = 0.95
_CHUNK = 250  # resamples per chunk: bounds memory at _CHUNK * n indices


def _array(samples: Sequence[float] | np.ndarray) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float64).ravel()
    if x.size == 0:
        raise ValueError("no samples")
    return x


def bootstrap_medians(
    samples: Sequence[float] | np.ndarray, *, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """Medians of ``resamples`` resamples (with replacement, same size) of ``samples``."""
    x = _array(samples)
    rng = np.random.default_rng(seed)
    out = np.empty(resamples)
    for start in range(0, resamples, _CHUNK):
        k = min(_CHUNK, resamples - start)
        idx = rng.integers(0, x.size, size=(k, x.size))
        out[start : start + k] = np.median(x[idx], axis=1)
    return out


def _interval(values: np.ndarray, confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2 * 100
    lo, hi = np.percentile(values, [tail, 100 - tail])
    return float(lo), float(hi)


def median_ci(
    samples: Sequence[float] | np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float]:
    """Bootstrap percentile interval of the median."""
    return _interval(bootstrap_medians(samples, resamples=resamples, seed=seed), confidence)


def summarize(
    samples_ns: Sequence[int] | np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> dict[str, float | int | list[float] | dict[str, float | int]]:
    """mean, std (ddof=1), min, p50, p90, p99, max (ms), n, cv, and the bootstrap CI of the median."""
    x = _array(samples_ns) / 1e6
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    p50, p90, p99 = (float(v) for v in np.percentile(x, [50, 90, 99]))
    lo, hi = median_ci(x, confidence=confidence, resamples=resamples, seed=seed)
    return {
        "n": int(x.size),
        "mean": mean,
        "std": std,
        "min": float(x.min()),
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "max": float(x.max()),
        "cv": std / mean if mean > 0 else math.nan,
        "p50_ci95": [lo, hi],
        "bootstrap": {"resamples": resamples, "seed": seed, "confidence": confidence},
    }


def ratio_of_medians(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    confidence: float = CONFIDENCE,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """median(b) / median(a) and a bootstrap interval (a and b resampled independently)."""
    xa, xb = _array(a), _array(b)
    ratio = float(np.median(xb) / np.median(xa))
    ma = bootstrap_medians(xa, resamples=resamples, seed=seed)
    mb = bootstrap_medians(xb, resamples=resamples, seed=seed + 1)
    lo, hi = _interval(mb / ma, confidence)
    return ratio, lo, hi
