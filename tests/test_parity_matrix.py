"""The x86 parity matrix: every artifact of the CI model set on every runtime that runs it, against PyTorch.

Driven by the registries: the cards in PARITY_SET, the artifacts ``pipeline.planned`` says an export makes,
and the runtimes whose formats include the artifact's. Ids read ``<card>-<artifact>-<runtime>``. Each case
re-runs the exported file through the device-side harness (``edgeexport.bench`` parity mode, numpy + the
runtime) and judges it with the card's tolerances; a miss names the metric, the value and the tolerance.

Exports go to ``artifacts/`` as ``make export`` writes them (content-addressed: a re-run re-uses them).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgeexport import cards, parity, runtimes
from edgeexport.bench import parity_only, runner, targets
from edgeexport.export import pipeline

PARITY_SET = ("mobilenetv3_small", "mobilenet_v2", "shufflenet_v2_x1_0", "mobilenetv3_small_fmnist")
OPTIONS = pipeline.ExportOptions()
# ExecuTorch's lowering is the slowest stage (~70 s a card on 2 cores): its artifacts are checked on the
# default card and on the real-weights card; the other cards' were measured once (docs/executorch-ncnn.md,
# docs/accuracy.md) and are not exported again in every CI run.
EXECUTORCH_SET = ("mobilenetv3_small", "mobilenet_v2")
# --nncf (onnx_int8_nncf) is opt-in; checked on the real-weights card, where it was chosen for its SQNR
NNCF_SET = ("mobilenet_v2",)


def options_for(name: str) -> pipeline.ExportOptions:
    options = replace(OPTIONS, nncf=name in NNCF_SET)
    if name in EXECUTORCH_SET:
        return options
    return replace(options, formats=tuple(f for f in OPTIONS.formats if f != "executorch"))


pytestmark = pytest.mark.slow


def _cases() -> list[Any]:
    cases = []
    for name in PARITY_SET:
        for artifact, fmt in pipeline.planned(cards.get_card(name), options_for(name)):
            for runtime in runtimes.RUNTIMES.names():
                if fmt in runtimes.RUNTIMES.get(runtime).formats:
                    cases.append(pytest.param(name, artifact, runtime, id=f"{name}-{artifact}-{runtime}"))
    return cases


_EXPORTED: dict[str, Path] = {}


def exported(name: str) -> tuple[Path, dict[str, Any]]:
    """The card's export folder and manifest (exported once per session)."""
    if name not in _EXPORTED:
        pipeline.export(cards.get_card(name), options_for(name), log=lambda message: None)
        _EXPORTED[name] = OPTIONS.root / name
    folder = _EXPORTED[name]
    return folder, json.loads((folder / "manifest.json").read_text())


@pytest.fixture(scope="session")
def outputs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("parity-outputs")


def run(name: str, artifact: str, runtime: str, out_dir: Path) -> dict[str, Any]:
    """The harness's parity-mode result for one artifact (its outputs saved in ``out_dir``)."""
    reason = runtimes.unavailable(runtime)
    if reason:
        pytest.skip(f"{runtime}: unavailable here: {reason}")
    folder, manifest = exported(name)
    entry = next(a for a in manifest["artifacts"] if a["id"] == artifact)
    if not entry.get("sha256"):
        pytest.fail(f"{name}/{artifact} was not written at export: {entry.get('reason')}")
    found, _ = targets.targets(runtime, folder, manifest)
    target = next(t for t in found if t.artifact == artifact)
    options = runner.runtime_options(runtime, "cpu", True)  # what `bench parity` passes by default
    result = parity_only.run_target(target, options, threads=2, images=None, out_dir=out_dir)
    assert result["status"] in ("ok", "parity miss"), f"{result['status']}: {result['reason']}"
    return result


@pytest.mark.parametrize(("name", "artifact", "runtime"), _cases())
def test_artifact_matches_pytorch(name: str, artifact: str, runtime: str, outputs_dir: Path) -> None:
    result = run(name, artifact, runtime, outputs_dir)
    misses = [f"{m['metric']} {m['value']:.6g} (tolerance {m['op']} {m['limit']:g})" for m in _misses(result)]
    limit = cards.get_card(name).tolerance.accuracy_drop
    accuracy = result.get("accuracy")
    if limit is not None and accuracy:
        drop = 100 * (accuracy["reference_top1"] - accuracy["top1"])
        if drop > limit:
            misses.append(f"top-1 drop {drop:.2f} points (tolerance <= {limit:g})")
    assert result["parity"]["checks"], "no tolerance recorded: nothing was judged"
    assert not misses, f"{name}/{artifact} on {runtime} vs PyTorch: " + "; ".join(misses)


def _misses(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in result["parity"]["checks"] if not c["ok"]]


def _outputs(name: str, artifact: str, runtime: str, out_dir: Path) -> list[list[np.ndarray]]:
    path = out_dir / f"{name}.{artifact}.npz"
    if not path.exists():
        run(name, artifact, runtime, out_dir)
    return parity_only.load_outputs(path)


@pytest.mark.parametrize("name", PARITY_SET)
def test_onnxruntime_and_litert_fp32_agree(name: str, outputs_dir: Path) -> None:
    ort = _outputs(name, "onnx_fp32_sim", "onnxruntime", outputs_dir)
    lite = _outputs(name, "tflite_fp32", "litert", outputs_dir)
    card = cards.get_card(name)
    limits = pipeline.limits_for(card, "fp32")
    report = parity.compare(ort, lite, limits, classification=card.task == "classification")
    assert report.passed, f"{name}: ORT fp32 vs LiteRT fp32: " + "; ".join(map(str, report.misses))


@pytest.mark.parametrize("name", PARITY_SET)
def test_onnxruntime_and_litert_int8_agree(name: str, outputs_dir: Path) -> None:
    """ORT static int8 and TFLite full int8 are two quantizations of one model, each allowed its own error
    against PyTorch, so against each other they get what two such errors allow: top-1 agreement
    2a - 1 (each misses at most 1 - a of the images), mean cosine t^2 (two independent errors of cosine
    t each). Measured on mobilenetv3_small: 0.968 and 0.967 against PyTorch, 0.943 against each other."""
    ort = _outputs(name, "onnx_int8", "onnxruntime", outputs_dir)
    lite = _outputs(name, "tflite_int8", "litert", outputs_dir)
    card = cards.get_card(name)
    own = pipeline.limits_for(card, "int8")
    limits = {"cosine_mean": own["cosine_mean"] ** 2}
    if "top1_agreement" in own:
        limits["top1_agreement"] = 2 * own["top1_agreement"] - 1
    report = parity.compare(ort, lite, limits, classification=card.task == "classification")
    assert report.passed, f"{name}: ORT int8 vs TFLite int8: " + "; ".join(map(str, report.misses))
