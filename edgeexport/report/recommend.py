"""Which artifact to ship: the fastest one that meets the user's budget, per device and thread count.

Pure functions over plain dicts (``Candidate``), so the rule is tested on hand-built result sets:

1. An artifact is **excluded**, with its reason, when it failed its parity gate at export, when the run on
   that device broke or missed parity, when its accuracy drop (labelled data) is over ``max_drop`` points,
   or when it is over ``max_size`` bytes or ``max_memory`` bytes of peak memory.
2. Of the rest, the one with the lowest median latency is **recommended**; the runner-up is the next one.
3. The margin is the ratio of their medians with a bootstrap 95 % interval from the raw samples (the bench's
   own ``stats.ratio_of_medians``); when the interval holds 1.0 the difference is **not significant** and
   the answer says both are as fast.
4. The answer says plainly when the data cannot support it: latency only emulated (QEMU: not a latency),
   seeded weights (an accuracy drop means nothing), or intervals wider than 10 % of the median (a noisy run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeexport.bench import stats

NOISY = 0.10  # a p50 95 % interval wider than this fraction of the median: a noisy run


@dataclass
class Candidate:
    artifact: str
    runtime: str
    size: int | None
    status: str  # the bench's status on this device
    export_status: str  # the manifest's
    reason: str | None = None
    p50_ms: float | None = None
    ci95: tuple[float, float] | None = None
    samples_ns: list[int] = field(default_factory=list)
    peak_bytes: int | None = None
    drop_points: float | None = None  # accuracy drop against PyTorch fp32 on labelled data
    emulated: bool = False


@dataclass
class Answer:
    device: str
    threads: int
    best: Candidate | None = None
    runner_up: Candidate | None = None
    ratio: tuple[float, float, float] | None = None  # runner-up / best median, 95 % interval
    significant: bool | None = None
    excluded: list[tuple[str, str]] = field(default_factory=list)  # (artifact (runtime), why)
    caveats: list[str] = field(default_factory=list)
    basis: str = ""  # the quality bar the candidates met

    def lines(self) -> list[str]:
        """The recommendation in plain sentences, as the page, report.md and the terminal print it."""
        head = f"{self.device}, {self.threads} thread{'s' if self.threads != 1 else ''}"
        if self.best is None:
            out = [f"{head}: no artifact can be recommended."]
        else:
            b = self.best
            out = [f"{head}: ship {b.artifact} on {b.runtime} (p50 {b.p50_ms:.2f} ms)."]
            if self.runner_up is not None and self.ratio is not None:
                r = self.runner_up
                ratio, lo, hi = self.ratio
                margin = f"{ratio:.2f}x its median [95 % CI {lo:.2f}-{hi:.2f}]"
                if self.significant:
                    out.append(f"Runner-up: {r.artifact} on {r.runtime}, {margin}: significantly slower.")
                else:
                    out.append(
                        f"Runner-up: {r.artifact} on {r.runtime}, {margin}: no significant difference; "
                        "either is as fast on this data."
                    )
        if self.basis:
            out.append(f"Quality bar: {self.basis}.")
        out += [f"Excluded {name}: {why}." for name, why in self.excluded]
        out += [f"Caveat: {c}" for c in self.caveats]
        return out


def exclusion(
    c: Candidate, *, max_drop: float | None, max_size: int | None, max_memory: int | None
) -> str | None:
    """Why ``c`` cannot be recommended, or None."""
    if c.export_status == "failed":
        return f"failed its parity gate at export ({c.reason or 'see the manifest'})"
    if c.status != "ok":
        return f"{c.status} on this device" + (f" ({c.reason})" if c.reason else "")
    if c.p50_ms is None:
        return "no latency measured"
    if max_drop is not None and c.drop_points is not None and c.drop_points > max_drop:
        return f"accuracy drop {c.drop_points:.2f} points > --max-drop {max_drop:g}"
    if max_size is not None and c.size is not None and c.size > max_size:
        return f"{c.size / 1e6:.1f} MB > --max-size {max_size / 1e6:g} MB"
    if max_memory is not None and c.peak_bytes is not None and c.peak_bytes > max_memory:
        return f"peak memory {c.peak_bytes / 1e6:.0f} MB > --max-memory {max_memory / 1e6:g} MB"
    return None


def recommend(
    device: str,
    threads: int,
    candidates: list[Candidate],
    *,
    max_drop: float | None = None,
    max_size: int | None = None,
    max_memory: int | None = None,
    seeded: bool = False,
    labelled: bool = True,
) -> Answer:
    answer = Answer(device, threads)
    if labelled:
        bar = f"at most {max_drop:g} accuracy points lost" if max_drop is not None else "no accuracy budget"
        answer.basis = f"its parity gate against PyTorch at export and on this device, {bar}"
    else:
        answer.basis = "its parity gate against PyTorch at export and on this device (no labelled data)"
        if max_drop is not None:
            answer.caveats.append("--max-drop needs labelled evaluation data; this card has none")
    if candidates and all(c.emulated for c in candidates):
        answer.caveats.append(
            "only emulated runs (QEMU): their timings are not latencies, so nothing is ranked by speed; "
            "measure on the board (python -m edgeexport.bench --device ssh://...)"
        )
        answer.excluded = [(f"{c.artifact} ({c.runtime})", "emulated timing only") for c in candidates]
        return answer
    ok = []
    for c in candidates:
        why = exclusion(c, max_drop=max_drop, max_size=max_size, max_memory=max_memory)
        if why:
            answer.excluded.append((f"{c.artifact} ({c.runtime})", why))
        else:
            ok.append(c)
    ok.sort(key=lambda c: (c.p50_ms, c.artifact, c.runtime))
    if not ok:
        answer.caveats.append("every artifact was excluded: relax the budget or re-export (reasons above)")
        return answer
    answer.best = ok[0]
    if len(ok) > 1:
        answer.runner_up = ok[1]
        if answer.best.samples_ns and answer.runner_up.samples_ns:
            answer.ratio = stats.ratio_of_medians(answer.best.samples_ns, answer.runner_up.samples_ns)
            answer.significant = not answer.ratio[1] <= 1.0 <= answer.ratio[2]
    if seeded:
        answer.caveats.append(
            "the card's weights are seeded (random): accuracy and top-1 mean nothing; parity still holds"
        )
    noisy = [c for c in ok[:2] if c.ci95 and c.p50_ms and (c.ci95[1] - c.ci95[0]) / c.p50_ms > NOISY]
    if noisy:
        names = ", ".join(c.artifact for c in noisy)
        answer.caveats.append(
            f"wide intervals ({names}: the p50's 95 % CI is over {NOISY:.0%} of it): a noisy machine; "
            "re-run with a longer --min-time"
        )
    return answer


def candidate(result: dict[str, Any], entry: dict[str, Any] | None) -> Candidate:
    """A bench result (and its export manifest entry) as a Candidate."""
    lat = result.get("latency_ms") or (result.get("emulated_timing") or {}).get("latency_ms") or {}
    accuracy = ((entry or {}).get("parity") or {}).get("accuracy") or {}
    ci = lat.get("p50_ci95")
    return Candidate(
        artifact=result["artifact"],
        runtime=result["runtime"],
        size=result.get("file_size_bytes"),
        status=result["status"],
        # the manifest as it is now (it may have been re-exported since the bench ran)
        export_status=(entry or {}).get("status") or result.get("manifest_status") or "ok",
        reason=result.get("reason") or (entry or {}).get("reason") or result.get("manifest_reason"),
        p50_ms=lat.get("p50"),
        ci95=(float(ci[0]), float(ci[1])) if ci else None,
        samples_ns=list(result.get("samples_ns") or []),
        peak_bytes=(result.get("memory") or {}).get("peak_bytes"),
        drop_points=accuracy.get("drop_points"),
        emulated=result.get("emulated_timing") is not None,
    )
