"""The default card's ONNX and TFLite artifacts load, and meet their parity gates, in the oldest runtimes the
card declares (spec.RuntimeTarget: onnxruntime 1.15, tflite-runtime 2.14), installed by `make old-runtimes`
in .oldrt/ (`make test` builds it first). Each runtime runs every artifact in one process through the
device-side bench's parity mode, as arm-parity does; the ARM side of tflite-runtime 2.14 is arm-parity's."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from test_parity_matrix import exported

from edgeexport.spec import RuntimeTarget

REPO = Path(__file__).resolve().parent.parent
CARD = "mobilenetv3_small"  # make export's default
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def old_python() -> Path:
    ready = REPO / ".oldrt" / "ready"
    if not ready.is_file():
        pytest.fail("no .oldrt/: run `make old-runtimes` (`make test` does it first)")
    return Path(json.loads(ready.read_text())["python"])


def parity_run(python: Path, runtime: str, root: Path, tmp: Path) -> dict[str, dict]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO)
    cmd = [str(python), "-m", "edgeexport.bench", "parity", "--runtime", runtime, "--artifacts",
           str(root), "--model", CARD, "--threads", "2", "--out-dir", str(tmp), "--json",
           str(tmp / "r.json")]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert (tmp / "r.json").exists(), out.stderr[-2000:]
    return {r["artifact"]: r for r in json.loads((tmp / "r.json").read_text())["results"]}


@pytest.mark.parametrize(
    ("runtime", "fmt", "package"),
    [("onnxruntime", "onnx", "onnxruntime"), ("litert", "tflite", "tflite-runtime")],
)
def test_every_artifact_loads_and_meets_parity_in_the_oldest_target(
    old_python: Path, tmp_path: Path, runtime: str, fmt: str, package: str
) -> None:
    folder, manifest = exported(CARD)
    target = RuntimeTarget()
    assert manifest["target"] == {"onnxruntime": target.onnxruntime, "tflite": target.tflite}
    expected = {a["id"] for a in manifest["artifacts"] if a["format"] == fmt and a["status"] == "ok"}
    assert len(expected) >= 4, f"too few {fmt} artifacts exported: {sorted(expected)}"
    results = parity_run(old_python, runtime, folder.parent, tmp_path)
    wanted = getattr(target, "tflite" if fmt == "tflite" else "onnxruntime")
    for artifact in sorted(expected):
        r = results[artifact]
        assert wanted in (r["runtime_version"] or ""), (
            f"{artifact} ran on {r['runtime_version']}, not {package}"
        )
        assert r["status"] == "ok", f"{artifact} on {package} {wanted}: {r['status']}: {r['reason']}"


def test_why_hybrid_fully_connected_is_per_tensor_for_2_14(old_python: Path, tmp_path: Path) -> None:
    """The finding behind tflite_check.py, kept true: tflite-runtime 2.14 computes 0.0 for a hybrid
    FULLY_CONNECTED with per-channel weights, and the right values for per-tensor ones."""
    from foreign_models import tflite_hybrid_fc

    script = (
        "import sys, numpy as np\n"
        "from tflite_runtime.interpreter import Interpreter\n"
        "for path in sys.argv[1:]:\n"
        "    it = Interpreter(model_path=path); it.allocate_tensors()\n"
        "    it.set_tensor(it.get_input_details()[0]['index'], np.ones((1, 4), np.float32)); it.invoke()\n"
        "    print(np.abs(it.get_tensor(it.get_output_details()[0]['index'])).sum())\n"
    )
    files = [tflite_hybrid_fc(tmp_path / f"{k}.tflite", per_channel=k == "pc") for k in ("pc", "pt")]
    out = subprocess.run([str(old_python), "-c", script, *map(str, files)], capture_output=True, text=True)
    per_channel, per_tensor = (float(v) for v in out.stdout.split())
    assert per_channel == 0.0 and per_tensor > 0, out.stderr
