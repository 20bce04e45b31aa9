"""Bench statistics against samples whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeexport.bench import report, stats


def test_summary_of_1_to_100() -> None:
    s = stats.summarize(np.arange(1, 101) * 1_000_000)  # 1..100 ms in ns
    assert s["n"] == 100
    assert s["min"] == 1.0 and s["max"] == 100.0
    assert s["mean"] == pytest.approx(50.5)
    assert s["p50"] == pytest.approx(50.5)
    assert s["p90"] == pytest.approx(90.1)
    assert s["p99"] == pytest.approx(99.01)
    std = math.sqrt(sum((x - 50.5) ** 2 for x in range(1, 101)) / 99)
    assert s["std"] == pytest.approx(std)
    assert s["cv"] == pytest.approx(std / 50.5)
    lo, hi = s["p50_ci95"]
    assert lo < 50.5 < hi


def test_single_sample_and_constant_samples() -> None:
    one = stats.summarize([5_000_000])
    assert one["n"] == 1 and one["std"] == 0.0 and one["p50_ci95"] == [5.0, 5.0]
    flat = stats.summarize([2_000_000] * 10)
    assert flat["cv"] == 0.0 and flat["p50_ci95"] == [2.0, 2.0]
    with pytest.raises(ValueError):
        stats.summarize([])


def test_bootstrap_is_deterministic_with_a_seed() -> None:
    x = np.random.default_rng(1).lognormal(size=300)
    assert stats.median_ci(x, seed=3) == stats.median_ci(x, seed=3)
    assert stats.median_ci(x, seed=3) != stats.median_ci(x, seed=4)


def test_bootstrap_ci_covers_the_true_median() -> None:
    """Lognormal(0, 0.5) has median exactly 1; a 95 % interval should cover it in ~95 % of samples."""
    rng = np.random.default_rng(2024)
    trials = 40
    covered = 0
    for t in range(trials):
        x = rng.lognormal(mean=0.0, sigma=0.5, size=200)
        lo, hi = stats.median_ci(x, resamples=1000, seed=t)
        covered += lo <= 1.0 <= hi
    assert covered >= 0.85 * trials


def test_ratio_of_medians_and_significance() -> None:
    rng = np.random.default_rng(7)
    a = rng.lognormal(mean=np.log(10.0), sigma=0.1, size=200)
    ratio, lo, hi = stats.ratio_of_medians(a, 2 * a)
    assert ratio == pytest.approx(2.0)
    assert 1.0 < lo <= 2.0 <= hi
    same = rng.lognormal(mean=np.log(10.0), sigma=0.1, size=200)
    _, lo, hi = stats.ratio_of_medians(a, same)
    assert lo <= 1.0 <= hi


def _doc(samples: np.ndarray) -> dict:
    ns = [int(v) for v in samples]
    return {
        "schema": "edgeexport.bench/1",
        "results": [
            {"card": "c", "artifact": "onnx_fp32", "samples_ns": ns, "latency_ms": stats.summarize(ns)},
        ],
    }


def test_compare_says_which_differences_are_significant() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(10e6, 0.3e6, size=100)
    rows = report.compare(_doc(a), _doc(a * 1.5))
    assert len(rows) == 1
    assert rows[0]["significant"] and rows[0]["verdict"] == "B slower"
    assert rows[0]["ratio"] == pytest.approx(1.5, rel=1e-6)
    rows = report.compare(_doc(a), _doc(rng.normal(10e6, 0.3e6, size=100)))
    assert not rows[0]["significant"]
