"""Shared by the faults tests (tests/test_faults*.py, docs/faults.md): cards written on the fly, the
real commands in a fresh process, and the one-line error check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import TINY_CARD

TESTS = Path(__file__).parent


def write_card(tmp_path: Path, text: str, name: str = "faulty") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def tiny(name: str = "faulty", extra: str = "", size: int = 32) -> str:
    return TINY_CARD.format(name=name, size=size) + extra


def user(name: str, builder_name: str) -> str:
    return f"""
name = "{name}"
task = "classification"
[architecture]
name = "fault_models:{builder_name}"
[input]
shape = [1, 3, 16, 16]
[weights]
bn_calibration = ""
"""


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }  # so a card can name fault_models:<builder>
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=cwd, env=env)


def one_line(out: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = out.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("error:"), out.stderr  # the last line: the error, alone
    assert "Traceback" not in out.stderr, out.stderr
    for word in words:
        assert word in out.stderr, (word, out.stderr)
