"""Process memory probe for the harness subprocess.

Definition (docs/bench.md): the harness takes a *baseline* (VmRSS) after numpy, the reference data and
the harness itself are loaded, but BEFORE the runtime module is imported; where Linux allows it, it also
resets the high-water mark then (``echo 5 > /proc/self/clear_refs``). After the timed runs it reads VmHWM:

    peak_bytes     = VmHWM(after timed runs) - VmRSS(baseline)   # what import + load + inference added
    resident_bytes = VmRSS(after load)       - VmRSS(baseline)   # what stays resident once loaded

Sources, in order: ``/proc/self/status`` (Linux, Android); ``psutil`` for the current RSS plus
``resource.getrusage`` for the peak (macOS, BSD); ``resource`` alone. The JSON records which one was used.
Without a resettable high-water mark the peak is the process's lifetime peak (still minus the baseline).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class Reading:
    rss: int | None  # bytes resident now
    hwm: int | None  # bytes, peak resident
    source: str


def _proc_status() -> dict[str, int]:
    values = {}
    for line in STATUS.read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            number, _, unit = rest.strip().partition(" ")
            values[key] = int(number) * (1024 if unit.strip().lower() == "kb" else 1)
    return values


def _rusage_peak() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB elsewhere


def read() -> Reading:
    if STATUS.exists():
        values = _proc_status()
        if "VmRSS" in values:
            return Reading(values["VmRSS"], values.get("VmHWM"), "/proc/self/status")
    try:
        import psutil

        rss: int | None = int(psutil.Process().memory_info().rss)
        source = "psutil rss + resource.getrusage peak"
    except ImportError:
        rss, source = None, "resource.getrusage peak (no current RSS)"
    return Reading(rss, _rusage_peak(), source)


def reset_peak() -> bool:
    """Reset the kernel's high-water mark (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Baseline:
    reading: Reading
    peak_reset: bool


def baseline() -> Baseline:
    reset = reset_peak()
    return Baseline(read(), reset)


def report(base: Baseline, after_load: Reading | None, after_runs: Reading) -> dict[str, object]:
    """The ``memory`` block of a result (bytes)."""
    b = base.reading.rss

    def minus(value: int | None) -> int | None:
        return None if value is None or b is None else value - b

    return {
        "source": base.reading.source,
        "peak_reset_at_baseline": base.peak_reset,
        "baseline_rss_bytes": b,
        "rss_after_load_bytes": after_load.rss if after_load else None,
        "hwm_bytes": after_runs.hwm,
        "resident_bytes": minus(after_load.rss) if after_load else None,
        "peak_bytes": minus(after_runs.hwm),
        "pid": os.getpid(),
    }
