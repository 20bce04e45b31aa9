"""The rule that names the artifact to ship (edgeexport/report/recommend.py), on hand-built result sets."""

from __future__ import annotations

import numpy as np

from edgeexport.report.recommend import Candidate, recommend

RNG = np.random.default_rng(0)


def c(name: str, p50: float, *, spread: float = 0.01, **kw: object) -> Candidate:
    samples = (RNG.normal(p50, spread * p50, 400).clip(min=0.01) * 1e6).astype(int).tolist()
    defaults = {
        "runtime": "litert",
        "size": 4_000_000,
        "status": "ok",
        "export_status": "ok",
        "p50_ms": p50,
        "ci95": (p50 * 0.99, p50 * 1.01),
        "samples_ns": samples,
        "peak_bytes": 40_000_000,
    }
    defaults.update(kw)
    return Candidate(artifact=name, **defaults)  # type: ignore[arg-type]


def test_the_fastest_eligible_one_with_a_significant_margin() -> None:
    a = recommend("board", 4, [c("slow", 10.0), c("fast", 5.0), c("middle", 7.0)])
    assert a.best.artifact == "fast" and a.runner_up.artifact == "middle"
    assert a.significant and 1.3 < a.ratio[0] < 1.5
    assert a.lines()[0] == "board, 4 threads: ship fast on litert (p50 5.00 ms)."
    assert "significantly slower" in a.lines()[1]


def test_a_difference_inside_the_noise_is_called_no_difference() -> None:
    a = recommend("board", 1, [c("a", 5.00, spread=0.2), c("b", 5.01, spread=0.2)])
    assert a.best is not None and a.significant is False
    assert "no significant difference; either is as fast" in a.lines()[1]


def test_a_tie_is_broken_by_name_not_by_chance() -> None:
    a = recommend("board", 1, [c("zeta", 5.0), c("alpha", 5.0)])
    assert a.best.artifact == "alpha"


def test_budgets_and_failures_exclude_with_their_reasons() -> None:
    cands = [
        c("big", 1.0, size=50_000_000),
        c("hungry", 2.0, peak_bytes=900_000_000),
        c("lossy", 3.0, drop_points=2.5),
        c("failed", 0.5, export_status="failed", reason="parity miss: cosine_mean 0.9"),
        c("missed", 0.7, status="parity miss", reason="cosine 0.5"),
        c("kept", 9.0, drop_points=0.1),
    ]
    a = recommend("host", 2, cands, max_drop=1.0, max_size=20_000_000, max_memory=500_000_000)
    assert a.best.artifact == "kept" and a.runner_up is None
    why = dict(a.excluded)
    assert why["big (litert)"] == "50.0 MB > --max-size 20 MB"
    assert why["hungry (litert)"] == "peak memory 900 MB > --max-memory 500 MB"
    assert why["lossy (litert)"] == "accuracy drop 2.50 points > --max-drop 1"
    assert why["failed (litert)"].startswith("failed its parity gate at export (parity miss")
    assert why["missed (litert)"] == "parity miss on this device (cosine 0.5)"


def test_everything_excluded_says_so() -> None:
    a = recommend("host", 2, [c("x", 1.0, size=9e9)], max_size=1)
    assert a.best is None and a.lines()[0] == "host, 2 threads: no artifact can be recommended."
    assert any("every artifact was excluded" in line for line in a.lines())


def test_emulated_only_ranks_nothing_by_speed() -> None:
    a = recommend("ssh://pi", 4, [c("a", 100.0, emulated=True), c("b", 50.0, emulated=True)])
    assert a.best is None and "only emulated runs" in a.caveats[0]


def test_seeded_weights_and_noisy_runs_are_caveats() -> None:
    a = recommend("host", 1, [c("a", 5.0, ci95=(4.0, 6.5)), c("b", 8.0)], seeded=True)
    text = " ".join(a.caveats)
    assert "weights are seeded" in text and "wide intervals (a:" in text
