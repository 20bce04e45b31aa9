"""Make each written artifact loadable by the card's oldest target runtimes (spec.RuntimeTarget).

Run by the pipeline on every .onnx and .tflite a stage writes, before its sha256 and parity are taken, so
the file judged is the file shipped; what it changed goes into the artifact's ``details["runtime_target"]``.

- ONNX: each onnxruntime release reads models up to an IR version and opset (the table below, from ORT's
  compatibility notes, each target checked by loading in CI: tests/test_old_runtimes.py). The exporter's
  IR 10 is stamped down to the target's IR when the model uses nothing newer (onnx.checker judges that),
  and opset imports of domains no node uses (the int8 pre-processing leaves nine) are dropped. An opset
  newer than the target reads is an error, never silently rewritten.
- TFLite: nothing is rewritten here; the file is checked (export/tflite_check.py) for what the target
  cannot compute: a hybrid FULLY_CONNECTED with per-channel weights gives 0.0 before 2.17, so
  tflite_quantize writes those per tensor for older targets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeexport.errors import ConversionError
from edgeexport.spec import RuntimeTarget, version_tuple

# onnxruntime release -> (newest IR version, newest ai.onnx opset, newest ai.onnx.ml opset) it reads
ORT_READS = {
    (1, 14): (8, 18, 3),
    (1, 15): (9, 19, 3),
    (1, 16): (9, 19, 3),
    (1, 17): (9, 20, 4),
    (1, 18): (10, 21, 4),
    (1, 19): (10, 21, 4),
    (1, 20): (10, 21, 4),
}


def onnx_limits(target: RuntimeTarget) -> tuple[int, int, int] | None:
    """What the target onnxruntime reads; None when it is newer than the table (no limit to apply)."""
    major, minor = version_tuple(target.onnxruntime, "target.onnxruntime")[:2]
    return ORT_READS.get((major, minor)) if (major, minor) <= max(ORT_READS) else None


def key(fmt: str, target: RuntimeTarget) -> str | None:
    """The part of the target that shapes an artifact of this format (its cache key and config)."""
    if fmt == "onnx":
        return f"onnxruntime>={target.onnxruntime}"
    if fmt == "tflite":
        return f"tflite>={target.tflite}"
    return None


def conform(fmt: str, path: Path, target: RuntimeTarget) -> dict[str, Any] | None:
    if fmt == "onnx":
        return conform_onnx(path, target)
    if fmt == "tflite":
        from edgeexport.export.tflite_check import check_tflite

        return check_tflite(path, target)
    return None


def conform_onnx(path: Path, target: RuntimeTarget) -> dict[str, Any]:
    import onnx

    model = onnx.load(str(path))
    done: dict[str, Any] = {"target": key("onnx", target), "ir_version_written": model.ir_version}
    limits = onnx_limits(target)
    used = {n.domain or "ai.onnx" for n in model.graph.node}
    for function in model.functions:
        used |= {n.domain or "ai.onnx" for n in function.node}
    kept = [o for o in model.opset_import if (o.domain or "ai.onnx") in used]
    dropped = sorted(f"{o.domain}:{o.version}" for o in model.opset_import if o not in kept)
    if dropped:
        del model.opset_import[:]
        model.opset_import.extend(kept)
        done["unused_opsets_dropped"] = dropped
    if limits is not None:
        ir, opset, ml = limits
        for o in model.opset_import:
            newest = {"": opset, "ai.onnx": opset, "ai.onnx.ml": ml}.get(o.domain)
            if newest is not None and o.version > newest:
                raise ConversionError(
                    f"opset {o.domain or 'ai.onnx'} {o.version} is newer than onnxruntime "
                    f"{target.onnxruntime} reads ({newest}); raise the card's target.onnxruntime"
                )
        if model.ir_version > ir:
            model.ir_version = ir
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as error:
        first = str(error).strip().splitlines()[0][:200]
        raise ConversionError(
            f"not valid as IR {model.ir_version} for {key('onnx', target)}: {first}"
        ) from None
    done["ir_version"] = model.ir_version
    done["opsets"] = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    onnx.save(model, str(path))
    return done
