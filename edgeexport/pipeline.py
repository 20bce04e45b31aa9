"""Export one card: build the model, write the reference, run every planned stage, judge every artifact.

A stage that fails is recorded (status, reason) and the others go on; an artifact whose parity misses
its tolerance is ``failed``. Artifacts are content-addressed: a re-run with unchanged inputs re-uses them.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from edgeexport import cards, data, parity, reference, runtimes, stages
from edgeexport.artifact import Artifact, Manifest, atomic_output, output_to, sha256_path, size_of
from edgeexport.spec import ModelCard

ARTIFACTS_ROOT = cards.REPO_ROOT / "artifacts"
FORMATS = {"onnx": "onnx", "tflite": "tflite", "coreml": "mlpackage"}
PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class ExportOptions:
    formats: tuple[str, ...] = tuple(FORMATS)
    precisions: tuple[str, ...] = PRECISIONS
    calibration_method: str = "MinMax"
    calibration_count: int | None = None
    dynamic_ops: tuple[str, ...] = ("MatMul", "Gemm")
    nodes_to_exclude: tuple[str, ...] = ()
    int8_types: str = "u8u8"  # ORT static int8 activation+weight types; docs/int8.md says why u8u8
    reduce_range: bool = False
    nhwc: bool = False
    int8_io: bool = False
    threads: int = 2
    root: Path = ARTIFACTS_ROOT

    def __post_init__(self) -> None:
        from edgeexport.errors import EdgeExportError
        from edgeexport.registry import suggest

        for f in self.formats:
            if f not in FORMATS:
                raise EdgeExportError(f"unknown format {f!r}{suggest(f, list(FORMATS))}")
        for p in self.precisions:
            if p not in PRECISIONS:
                raise EdgeExportError(f"unknown precision {p!r}{suggest(p, list(PRECISIONS))}")
        from edgeexport.stages.onnx_quantize import METHODS, TYPES

        if self.int8_types not in TYPES:
            raise EdgeExportError(f"unknown int8 types {self.int8_types!r}; use {', '.join(TYPES)}")
        if self.calibration_method not in METHODS:
            raise EdgeExportError(
                f"unknown calibration method {self.calibration_method!r}; use {', '.join(METHODS)}"
            )


@dataclass
class ExportContext:
    card: ModelCard
    options: ExportOptions
    folder: Path
    model: Any  # torch.nn.Module
    example: Any  # torch.Tensor, batch 1
    model_sha256: str
    calibration: np.ndarray  # N x C x H x W, preprocessed real images
    calibration_sha256: str
    reference_inputs: np.ndarray
    reference_outputs: list[list[np.ndarray]]
    reference_labels: np.ndarray | None = None
    reference_ids: tuple[str, ...] = ()
    reference_sha256: str = ""
    # (inputs, labels, PyTorch fp32 top-1) of the val split, for accuracy-aware quantization
    validation: tuple[np.ndarray, np.ndarray, float] | None = None
    done: dict[str, Artifact] = field(default_factory=dict)
    cached: set[str] = field(default_factory=set)


def model_digest(card: ModelCard, model: Any) -> str:
    h = hashlib.sha256(
        json.dumps([card.architecture.name, card.architecture.args, card.input.shape]).encode()
    )
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def prepare(card: ModelCard, options: ExportOptions, log: Any) -> tuple[ExportContext, dict[str, Any]]:
    import torch

    from edgeexport import models

    torch.set_num_threads(options.threads)
    folder = options.root / card.name
    folder.mkdir(parents=True, exist_ok=True)
    log(f"building {card.name} ({card.architecture.name}, weights: {card.weights.source})")
    model = models.build_model(card)
    calib_set = data.load(card.data.calibration, "calibration").subset(options.calibration_count)
    calibration = data.preprocess_batch(list(calib_set.images), card.preprocess, card.input)
    ref = reference.compute(card, model)
    ctx = ExportContext(
        card=card,
        options=options,
        folder=folder,
        model=model,
        example=torch.from_numpy(ref.inputs[:1].copy()),
        model_sha256=model_digest(card, model),
        calibration=calibration,
        calibration_sha256=calib_set.digest(),
        reference_inputs=ref.inputs,
        reference_outputs=ref.outputs,
        reference_labels=ref.labels,
        reference_ids=tuple(ref.ids),
    )
    if card.tolerance.accuracy_drop is not None and ref.labels is not None:
        ctx.validation = _validation(card, model)
    path = reference.write(ref, folder)
    block = reference.describe(ref, path, card, ctx.model_sha256)
    ctx.reference_sha256 = block["sha256"]
    if ref.top1 is not None:
        log(f"PyTorch fp32 top-1 on {ref.data_name}: {ref.top1:.2%} ({ref.inputs.shape[0]} images)")
    return ctx, block


def _validation(card: ModelCard, model: Any) -> tuple[np.ndarray, np.ndarray, float]:
    import torch

    val = data.load(card.data.evaluation or card.data.calibration, "val")
    inputs = data.preprocess_batch(list(val.images), card.preprocess, card.input)
    if val.labels is None:
        raise ValueError(f"{val.name} has no labels")
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(inputs[i : i + 256])) for i in range(0, len(inputs), 256)])
    top1 = float((logits.argmax(1).numpy() == val.labels).mean())
    return inputs, np.asarray(val.labels), top1


def limits_for(card: ModelCard, kind: str) -> dict[str, float]:
    t = card.tolerance
    if kind == "fp32":
        return {"max_abs": t.fp32_max_abs, "cosine": t.fp32_cosine}
    if kind == "fp16":
        return {"cosine": t.fp16_cosine}
    limits = {"cosine_mean": t.int8_cosine}
    if t.int8_top1 > 0:  # 0: reported, not judged (seeded random weights: top-1 of near-tied logits)
        limits["top1_agreement"] = t.int8_top1
    return limits


def check_parity(ctx: ExportContext, art: Artifact) -> None:
    """Run the artifact on the reference inputs where a runtime can; a miss makes it ``failed``."""
    runtime = runtimes.runtime_for(art.format)
    reason = runtimes.unavailable(runtime) if runtime else f"no runtime runs {art.format}"
    if reason:
        art.status, art.reason = "not runnable here", reason
        return
    session = runtimes.load(runtime, str(ctx.folder / art.file), ctx.options.threads)  # type: ignore[arg-type]
    outputs = []
    for i in range(ctx.reference_inputs.shape[0]):
        out = session.run([ctx.reference_inputs[i : i + 1]])
        if art.config.get("nhwc"):
            out = [o.transpose(0, 3, 1, 2) if o.ndim == 4 else o for o in out]
        outputs.append(out)
    report = parity.compare(
        ctx.reference_outputs,
        outputs,
        limits_for(ctx.card, art.precision.kind),
        classification=ctx.card.task == "classification",
    )
    art.parity = dict(report.to_dict(), runtime=runtime, kind=art.precision.kind)
    misses = [str(m) for m in report.misses]
    if ctx.reference_labels is not None:
        ref_top1 = reference.top1(ctx.reference_outputs, ctx.reference_labels)
        top1 = reference.top1(outputs, ctx.reference_labels)
        drop = round(100 * ((ref_top1 or 0.0) - (top1 or 0.0)), 4)
        limit = ctx.card.tolerance.accuracy_drop
        art.parity["accuracy"] = {
            "top1": top1,
            "pytorch_top1": ref_top1,
            "drop_points": drop,
            "max_drop": limit,
        }
        if limit is not None and drop > limit:
            misses.append(f"accuracy drop {drop:.2f} points (tolerance <= {limit:g})")
    if misses:
        art.status = "failed"
        art.reason = "parity miss: " + "; ".join(misses)


def _cache_key(stage: ModuleType, variant: stages.Variant, parent_sha: str, ctx: ExportContext) -> str:
    key = {
        "stage": f"{stage.NAME}@{stage.VERSION}",
        "variant": variant.id,
        "config": variant.config,
        "parent": parent_sha,
        "calibration": ctx.calibration_sha256 if variant.precision.kind == "int8" else None,
        "reference": ctx.reference_sha256,
        "tolerance": limits_for(ctx.card, variant.precision.kind),
        "tools": stage.tools(),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def _wanted(variant: stages.Variant, stage: ModuleType, options: ExportOptions) -> bool:
    fmt = next(k for k, v in FORMATS.items() if v == stage.DST)
    return fmt in options.formats and variant.precision.kind in options.precisions


def _with_parents(
    candidates: list[tuple[ModuleType, stages.Variant]], wanted: set[str]
) -> list[tuple[ModuleType, stages.Variant]]:
    """The wanted variants plus every variant they may take as parent (``--precisions int8`` still needs
    the fp32 ONNX it quantizes), in the given order."""
    by_id = {v.id: v for _, v in candidates}
    keep, queue = set(), list(wanted)
    while queue:
        vid = queue.pop()
        if vid in keep or vid not in by_id:
            continue
        keep.add(vid)
        queue.extend(by_id[vid].parents)
    return [(s, v) for s, v in candidates if v.id in keep]


def run_variant(
    ctx: ExportContext,
    stage: ModuleType,
    variant: stages.Variant,
    old: Manifest | None,
    tools: dict[str, str],
) -> Artifact:
    parent = next(
        (ctx.done[p] for p in variant.parents if p in ctx.done and ctx.done[p].status == "ok"), None
    )
    art = Artifact(
        id=variant.id,
        format=stage.DST,
        file=variant.file_name(ctx.card.name),
        precision=variant.precision,
        stage=f"{stage.NAME}@{stage.VERSION}",
        parent=parent.id if parent else None,
        parent_sha256=parent.sha256 if parent else ctx.model_sha256,
        config=variant.config,
        tools=tools,
        calibration_sha256=ctx.calibration_sha256 if variant.precision.kind == "int8" else None,
    )
    if variant.parents and parent is None:
        art.status, art.reason = "failed", f"no usable parent artifact among {', '.join(variant.parents)}"
        return art
    art.cache_key = _cache_key(stage, variant, art.parent_sha256 or "", ctx)
    path = ctx.folder / art.file
    previous = old.artifacts.get(variant.id) if old else None
    if (
        previous is not None
        and previous.cache_key == art.cache_key
        and previous.sha256 is not None  # written (a parity miss is reproducible; a crash is re-tried)
        and path.exists()
        and sha256_path(path) == previous.sha256
    ):
        ctx.cached.add(variant.id)
        return previous
    start = time.perf_counter()
    try:
        log_file = ctx.folder / "logs" / f"{variant.id}.log"
        log_file.unlink(missing_ok=True)
        with output_to(log_file), atomic_output(path) as tmp:
            art.details = stage.run(ctx, variant, ctx.folder / parent.file if parent else None, tmp)
        art.sha256, art.size = sha256_path(path), size_of(path)
        with output_to(log_file):
            check_parity(ctx, art)
    except Exception as error:  # recorded with its reason; the other stages go on
        art.status = "failed"
        first_line = (str(error).strip().splitlines() or [""])[0][:400]
        art.reason = f"{type(error).__name__}: {first_line}"
        art.details["traceback"] = traceback.format_exc(limit=-4)
        art.details["log"] = f"logs/{variant.id}.log"
    art.seconds = round(time.perf_counter() - start, 2)
    return art


def _todo(ctx: ExportContext) -> list[tuple[ModuleType, stages.Variant]]:
    registry = stages.load_stages()
    candidates = [(registry.get(n), v) for n in stages.STAGE_MODULES for v in registry.get(n).variants(ctx)]
    wanted = {v.id for s, v in candidates if _wanted(v, s, ctx.options)}
    return stages.plan(_with_parents(candidates, wanted))


def planned(card: ModelCard, options: ExportOptions) -> list[tuple[str, str]]:
    """(artifact id, format) of every artifact ``export`` would make, in order, without building anything
    (variants only read the card and the options): what registry-driven tests parametrize over."""
    shape = tuple(card.input.shape[1:])
    ctx = ExportContext(
        card=card,
        options=options,
        folder=options.root / card.name,
        model=None,
        example=None,
        model_sha256="",
        calibration=np.empty((0, *shape), dtype=np.float32),
        calibration_sha256="",
        reference_inputs=np.empty((0, *shape), dtype=np.float32),
        reference_outputs=[],
    )
    return [(v.id, stage.DST) for stage, v in _todo(ctx)]


def export(card: ModelCard, options: ExportOptions, log: Any = None) -> Manifest:
    return export_with_context(card, options, log)[0]


def export_with_context(
    card: ModelCard, options: ExportOptions, log: Any = None
) -> tuple[Manifest, ExportContext]:
    """``export``, also returning its context (model, calibration and reference data) for benchmarks."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    ctx, reference = prepare(card, options, log)
    old = Manifest.load(ctx.folder)
    manifest = Manifest(card=card.name, reference=reference)
    if old:  # keep what this run does not touch (other formats/precisions)
        manifest.artifacts.update(old.artifacts)
    todo = _todo(ctx)
    for i, (stage, variant) in enumerate(todo, 1):
        log(f"[{i}/{len(todo)}] {variant.id} ({stage.NAME}) ...")
        art = run_variant(ctx, stage, variant, old, stage.tools())
        ctx.done[art.id] = art
        manifest.artifacts[art.id] = art
        manifest.save(ctx.folder)
        cached = " (cached)" if art.id in ctx.cached else ""
        log(
            f"[{i}/{len(todo)}] {variant.id}: {art.status}{cached}"
            + (f" - {art.reason}" if art.reason else "")
        )
    manifest.save(ctx.folder)
    return manifest, ctx
