"""The memory probe reports what a process really allocated."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edgeexport.bench import memory

PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from edgeexport.bench import memory
    base = memory.baseline()
    block = np.ones(200_000_000 // 8)  # 200 MB, every page touched
    held = memory.read()
    del block
    print(json.dumps(memory.report(base, held, memory.read())))
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc (Linux, Android)")
def test_probe_sees_a_200_mb_allocation_within_10_percent() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    assert report["source"] == "/proc/self/status"
    assert report["peak_bytes"] == pytest.approx(200e6, rel=0.10)
    assert report["resident_bytes"] == pytest.approx(200e6, rel=0.10)
    assert report["baseline_rss_bytes"] > 0


def test_fallback_without_proc_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(memory, "STATUS", tmp_path / "no-such-status")
    reading = memory.read()
    assert "resource.getrusage" in reading.source
    if sys.platform != "win32":
        assert reading.hwm and reading.hwm > 0


def test_proc_status_parsing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n")
    monkeypatch.setattr(memory, "STATUS", status)
    reading = memory.read()
    assert (reading.rss, reading.hwm, reading.source) == (1024 * 1024, 2048 * 1024, "/proc/self/status")
