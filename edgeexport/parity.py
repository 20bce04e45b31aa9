"""Parity of a runtime's outputs against the PyTorch reference. numpy only: it runs on the device too.

Metrics over N samples (each sample a list of output arrays):
  max_abs / mean_abs  absolute error over every element;
  cosine              the WORST per-sample cosine similarity (flattened outputs);
  cosine_mean         the mean per-sample cosine (int8 is judged on it: over 10k images the worst
                      sample of a good int8 model is an outlier, measured 0.71-0.82 at a 0.07-pt drop);
  sqnr_db             10 log10(sum ref^2 / sum (ref - out)^2) over everything (inf when identical);
  top1_agreement      fraction of samples whose arg-max matches the reference's (classification);
  top5_overlap        mean |top5(ref) & top5(out)| / 5 (classification).
A miss is collected per metric and reported together; the caller makes it a failure, never a warning.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from edgeexport.errors import ParityError

Outputs = Sequence[np.ndarray]  # one sample's outputs


@dataclass(frozen=True)
class Check:
    metric: str
    value: float
    op: str  # "<=" or ">="
    limit: float

    @property
    def ok(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def __str__(self) -> str:
        return f"{self.metric} {self.value:.6g} (tolerance {self.op} {self.limit:g})"


@dataclass(frozen=True)
class ParityReport:
    n: int
    max_abs: float
    mean_abs: float
    cosine: float
    sqnr_db: float
    cosine_mean: float = math.nan
    top1_agreement: float | None = None
    top5_overlap: float | None = None
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def misses(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, object]:
        d = asdict(self)
        d["checks"] = [dict(asdict(c), ok=c.ok) for c in self.checks]
        d["passed"] = self.passed
        return d

    def raise_on_miss(self, what: str) -> None:
        if not self.passed:
            raise ParityError(f"{what}: parity miss: " + "; ".join(map(str, self.misses)))


def _finite(x: float) -> float:
    return float(x) if math.isfinite(x) else (math.inf if x > 0 else -math.inf)


def metrics(
    reference: Sequence[Outputs], outputs: Sequence[Outputs], *, classification: bool
) -> ParityReport:
    if len(reference) != len(outputs):
        raise ParityError(f"{len(outputs)} output samples for {len(reference)} reference samples")
    if not reference:
        raise ParityError("no reference samples to compare with")
    abs_max, abs_sum, count, signal, noise, cosines = 0.0, 0.0, 0, 0.0, 0.0, []
    top1, top5 = [], []
    for ref_sample, out_sample in zip(reference, outputs, strict=True):
        if len(ref_sample) != len(out_sample):
            raise ParityError(f"{len(out_sample)} outputs per sample, the reference has {len(ref_sample)}")
        flat_ref, flat_out = [], []
        for r, o in zip(ref_sample, out_sample, strict=True):
            r64 = np.asarray(r, dtype=np.float64)
            o64 = np.asarray(o, dtype=np.float64)
            if r64.size != o64.size:
                raise ParityError(f"output of shape {o64.shape} for a reference of shape {r64.shape}")
            flat_ref.append(r64.ravel())
            flat_out.append(o64.reshape(-1))
        ref, out = np.concatenate(flat_ref), np.concatenate(flat_out)
        diff = np.abs(ref - out)
        # NaN/inf anywhere makes max_abs NaN (Python's max() would silently drop a NaN)
        worst = float(diff.max()) if diff.size else 0.0
        abs_max = worst if not math.isfinite(worst) or math.isnan(abs_max) else max(abs_max, worst)
        abs_sum += float(diff.sum())
        count += diff.size
        signal += float(np.dot(ref, ref))
        noise += float(np.dot(ref - out, ref - out))
        denom = float(np.linalg.norm(ref) * np.linalg.norm(out))
        cosines.append(float(np.dot(ref, out)) / denom if denom > 0 else float(np.array_equal(ref, out)))
        if classification:
            r0, o0 = flat_ref[0], flat_out[0]
            if not np.isfinite(o0).all():  # argmax of all-NaN is 0 on both sides: not an agreement
                top1.append(False)
                top5.append(0.0)
                continue
            top1.append(int(r0.argmax()) == int(o0.argmax()))
            k = min(5, r0.size)
            top5.append(len(set(np.argsort(-r0)[:k]) & set(np.argsort(-o0)[:k])) / k)
    sqnr = math.inf if noise == 0 else (10 * math.log10(signal / noise) if signal > 0 else -math.inf)
    broken = any(math.isnan(c) for c in cosines) or math.isnan(abs_max)
    cos, cos_mean = (math.nan, math.nan) if broken else (min(cosines), float(np.mean(cosines)))
    return ParityReport(
        n=len(reference),
        max_abs=abs_max,
        mean_abs=abs_sum / max(count, 1),
        cosine=cos,
        sqnr_db=_finite(sqnr),
        cosine_mean=cos_mean,
        top1_agreement=float(np.mean(top1)) if classification else None,
        top5_overlap=float(np.mean(top5)) if classification else None,
    )


def judge(report: ParityReport, limits: dict[str, float]) -> ParityReport:
    """Attach the checks: ``{"max_abs": 1e-4, "cosine": 0.99999, "top1_agreement": 0.9}``.

    max_abs / mean_abs are upper bounds, everything else a lower bound; a metric the report lacks
    (top-1 on a feature extractor) is skipped.
    """
    checks = []
    for metric, limit in limits.items():
        value = getattr(report, metric)
        if value is None:
            continue
        op = "<=" if metric in ("max_abs", "mean_abs") else ">="
        checks.append(Check(metric, float(value), op, float(limit)))
    return ParityReport(**{**asdict(report), "checks": tuple(checks)})


def compare(
    reference: Sequence[Outputs],
    outputs: Sequence[Outputs],
    limits: dict[str, float],
    *,
    classification: bool,
) -> ParityReport:
    return judge(metrics(reference, outputs, classification=classification), limits)
