"""Export one card: build the model, write the reference, run every planned stage, judge every artifact.

A stage that fails is recorded (status, reason) and the others go on; an artifact whose parity misses
its tolerance is ``failed``. Artifacts are content-addressed: a re-run with unchanged inputs re-uses them.
"""

from __future__ import annotations

import copy
import hashlib
import json
import sys
import time
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from edgeexport import data, parity, runtimes
from edgeexport.artifact import Artifact, Manifest, atomic_output, output_to, sha256_path, size_of
from edgeexport.export import compat, reference, rewrites, stages
from edgeexport.export import folder as card_folder
from edgeexport.export.context import StageContext, Validation
from edgeexport.spec import FORMATS, ExportOptions, ModelCard, RuntimeTarget


@dataclass
class ExportRun:
    """The pipeline's own state for one card: what stages read (``stage``), and what only it keeps."""

    stage: StageContext
    folder: Path
    model_sha256: str
    calibration_sha256: str
    reference_sha256: str
    done: dict[str, Artifact] = field(default_factory=dict)
    cached: set[str] = field(default_factory=set)

    @property
    def card(self) -> ModelCard:
        return self.stage.card

    @property
    def target(self) -> RuntimeTarget:
        """The oldest runtimes the artifacts must load in: --target, else the card's [target]."""
        return self.stage.options.target or self.card.target


def model_digest(card: ModelCard, model: Any) -> str:
    h = hashlib.sha256(
        json.dumps([card.architecture.name, card.architecture.args, card.input.shape]).encode()
    )
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def prepare(card: ModelCard, options: ExportOptions, log: Any) -> tuple[ExportRun, dict[str, Any]]:
    import torch

    from edgeexport.zoo.builder import build_model

    torch.set_num_threads(options.threads)
    folder = options.root / card.name
    folder.mkdir(parents=True, exist_ok=True)
    log(f"building {card.name} ({card.architecture.name}, weights: {card.weights.source})")
    model = build_model(card)
    calib_set = data.load(card.data.calibration, "calibration").subset(options.calibration_count)
    calibration = data.preprocess_batch(list(calib_set.images), card.preprocess, card.input)
    options = replace(options, calibration_count=int(calibration.shape[0]))
    ref = reference.compute(card, model)  # of the model as built: the rewrites must reproduce it
    wanted = rewrites.AUTO if options.rewrites is None else options.rewrites
    int8_model = copy.deepcopy(model)
    rewritten = rewrites.rewrite_proven(int8_model, model, wanted, ref.inputs)
    if rewritten["applied"]:
        applied = "; ".join(
            f"{k} x{v} for {', '.join(rewrites.REWRITES[k].routes)}" for k, v in rewritten["applied"].items()
        )
        log(
            f"rewrites: {applied} "
            f"(proven: float max abs {rewritten['float_max_abs']:.2g} on {ref.inputs.shape[0]} images)"
        )
    validation = None
    if card.tolerance.accuracy_drop is not None and ref.labels is not None:
        validation = _validation(card, model)
    model_sha256 = model_digest(card, model)
    path = reference.write(ref, folder)
    block = reference.describe(ref, path, card, model_sha256)
    block["rewrites"] = rewritten
    if ref.top1 is not None:
        log(f"PyTorch fp32 top-1 on {ref.data_name}: {ref.top1:.2%} ({ref.inputs.shape[0]} images)")
    ctx = StageContext(
        card=card,
        options=options,
        model=model,
        example=torch.from_numpy(ref.inputs[:1].copy()),
        calibration=calibration,
        reference=ref,
        validation=validation,
        rewritten=int8_model if rewritten["applied"] else None,
        rewrites=rewritten["applied"] or None,
    )
    run = ExportRun(ctx, folder, model_sha256, calib_set.digest(), block["sha256"])
    return run, block


def _validation(card: ModelCard, model: Any) -> Validation:
    import torch

    val = data.load(card.data.evaluation or card.data.calibration, "val")
    inputs = data.preprocess_batch(list(val.images), card.preprocess, card.input)
    if val.labels is None:
        raise ValueError(f"{val.name} has no labels")
    with torch.no_grad():
        logits = torch.cat([model(torch.from_numpy(inputs[i : i + 256])) for i in range(0, len(inputs), 256)])
    top1 = float((logits.argmax(1).numpy() == val.labels).mean())
    return Validation(inputs, np.asarray(val.labels), top1)


def limits_for(card: ModelCard, kind: str) -> dict[str, float]:
    t = card.tolerance
    if kind == "fp32":
        return {"max_abs": t.fp32_max_abs, "cosine": t.fp32_cosine}
    if kind == "fp16":
        return {"cosine": t.fp16_cosine}
    limits = {"cosine_mean": t.w8_cosine if kind == "w8" else t.int8_cosine}
    if t.int8_top1 > 0:  # 0: reported, not judged (seeded random weights: top-1 of near-tied logits)
        limits["top1_agreement"] = t.int8_top1
    return limits


def check_parity(run: ExportRun, art: Artifact) -> None:
    """Run the artifact on the reference inputs where a runtime can; a miss makes it ``failed``."""
    ctx, ref = run.stage, run.stage.reference
    runtime = runtimes.runtime_for(art.format)
    reason = runtimes.unavailable(runtime) if runtime else f"no runtime runs {art.format}"
    if reason:
        art.status, art.reason = "not runnable here", reason
        return
    own = runtimes.artifact_options(art.config)
    session = runtimes.load(runtime, str(run.folder / art.file), ctx.options.threads, **own)  # type: ignore[arg-type]
    outputs = []
    for i in range(ref.inputs.shape[0]):
        out = session.run([ref.inputs[i : i + 1]])
        if art.config.get("nhwc"):
            out = [o.transpose(0, 3, 1, 2) if o.ndim == 4 else o for o in out]
        outputs.append(out)
    report = parity.compare(
        ref.outputs,
        outputs,
        limits_for(ctx.card, art.precision.kind),
        classification=ctx.card.task == "classification",
    )
    art.parity = dict(report.to_dict(), runtime=runtime, kind=art.precision.kind)
    misses = [str(m) for m in report.misses]
    if ref.labels is not None:
        ref_top1 = reference.top1(ref.outputs, ref.labels)
        top1 = reference.top1(outputs, ref.labels)
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


def _cache_key(stage: ModuleType, variant: stages.Variant, parent_sha: str, run: ExportRun) -> str:
    key = {
        "stage": f"{stage.NAME}@{stage.VERSION}",
        "variant": variant.id,
        "config": _config(variant, stage, run),
        "parent": parent_sha,
        "calibration": run.calibration_sha256 if variant.precision.kind == "int8" else None,
        "reference": run.reference_sha256,
        "tolerance": limits_for(run.card, variant.precision.kind),
        "tools": stage.tools(),
        "target": compat.key(stage.DST, run.target),
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def _config(variant: stages.Variant, stage: ModuleType, run: ExportRun) -> dict[str, Any]:
    """The variant's config, plus the runtime target and the rewrites of the model it is made from."""
    config = dict(variant.config)
    target = compat.key(stage.DST, run.target)
    if target:
        config["target"] = target
    made_with = run.stage.rewrites_for(variant.id)
    if made_with:
        config["rewrites"] = made_with
    return config


def _wanted(variant: stages.Variant, stage: ModuleType, options: ExportOptions) -> bool:
    fmt = next(k for k, v in FORMATS.items() if v == stage.DST)
    precision = "int8" if variant.precision.kind == "w8" else variant.precision.kind  # --precisions int8
    return fmt in options.formats and precision in options.precisions


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
    run: ExportRun,
    stage: ModuleType,
    variant: stages.Variant,
    old: Manifest | None,
    tools: dict[str, str],
) -> Artifact:
    parent = next(
        (run.done[p] for p in variant.parents if p in run.done and run.done[p].status == "ok"), None
    )
    art = Artifact(
        id=variant.id,
        format=stage.DST,
        file=variant.file_name(run.card.name),
        precision=variant.precision,
        stage=f"{stage.NAME}@{stage.VERSION}",
        parent=parent.id if parent else None,
        parent_sha256=parent.sha256 if parent else run.model_sha256,
        config=_config(variant, stage, run),
        tools=tools,
        calibration_sha256=run.calibration_sha256 if variant.precision.kind == "int8" else None,
    )
    if variant.parents and parent is None:
        art.status, art.reason = "failed", f"no usable parent artifact among {', '.join(variant.parents)}"
        return art
    art.cache_key = _cache_key(stage, variant, art.parent_sha256 or "", run)
    path = run.folder / art.file
    previous = old.artifacts.get(variant.id) if old else None
    if (
        previous is not None
        and previous.cache_key == art.cache_key
        and previous.sha256 is not None  # written (a parity miss is reproducible; a crash is re-tried)
        and path.exists()
        and sha256_path(path) == previous.sha256
    ):
        run.cached.add(variant.id)
        return previous
    start = time.perf_counter()
    log_file = run.folder / "logs" / f"{variant.id}.log"
    try:
        log_file.unlink(missing_ok=True)
        with output_to(log_file), atomic_output(path) as tmp:
            art.details = stage.run(run.stage, variant, run.folder / parent.file if parent else None, tmp)
            conformed = compat.conform(stage.DST, tmp, run.target)
            if conformed:
                art.details["runtime_target"] = conformed
        art.sha256, art.size = sha256_path(path), size_of(path)
        with output_to(log_file):
            check_parity(run, art)
    except Exception as error:  # recorded with its reason; the other stages go on
        art.status = "failed"
        first_line = (str(error).strip().splitlines() or [""])[0][:400]
        art.reason = f"{type(error).__name__}: {first_line}"
        art.details["traceback"] = traceback.format_exc(limit=-4)
    if log_file.exists() and log_file.stat().st_size:
        art.details["log"] = f"logs/{variant.id}.log"  # the converter's own output and warnings
    art.seconds = round(time.perf_counter() - start, 2)
    return art


def _todo(card: ModelCard, options: ExportOptions) -> list[tuple[ModuleType, stages.Variant]]:
    registry = stages.load_stages()
    candidates = [
        (registry.get(n), v) for n in stages.STAGE_MODULES for v in registry.get(n).variants(card, options)
    ]
    wanted = {v.id for s, v in candidates if _wanted(v, s, options)}
    return stages.plan(_with_parents(candidates, wanted))


def planned(card: ModelCard, options: ExportOptions) -> list[tuple[str, str]]:
    """(artifact id, format) of every artifact ``export`` would make, in order, without building anything
    (variants read only the card and the options): what registry-driven tests parametrize over."""
    return [(v.id, stage.DST) for stage, v in _todo(card, options)]


def export(card: ModelCard, options: ExportOptions, log: Any = None) -> Manifest:
    return export_with_context(card, options, log)[0]


def failed_in_run(manifest: Manifest, run: ExportRun) -> list[str]:
    """The artifacts this run made or re-used that failed: what its exit code counts (entries of earlier
    runs for other formats stay in the manifest but are not this run's business)."""
    return [i for i in run.done if manifest.artifacts[i].status == "failed"]


def export_with_context(
    card: ModelCard, options: ExportOptions, log: Any = None
) -> tuple[Manifest, ExportRun]:
    """``export``, also returning its run (model, calibration and reference data) for benchmarks."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    with card_folder.exclusive(options.root, card.name, log):
        return _export(card, options, log)


def _export(card: ModelCard, options: ExportOptions, log: Any) -> tuple[Manifest, ExportRun]:
    run, reference = prepare(card, options, log)
    card_folder.sweep(run.folder, log)
    old = card_folder.old_manifest(run.folder, log)
    target = run.target
    manifest = Manifest(card=card.name, reference=reference, target=dict(vars(target)))
    todo = _todo(card, run.stage.options)
    if old:  # keep what this run does not touch (other formats/precisions), if judged against this reference
        if old.reference.get("sha256") == reference["sha256"]:
            manifest.artifacts.update(old.artifacts)
        else:
            stale = sorted(set(old.artifacts) - {v.id for _, v in todo})
            if stale:
                log(f"dropped from the manifest, judged against another reference.npz: {', '.join(stale)}")
    for i, (stage, variant) in enumerate(todo, 1):
        log(f"[{i}/{len(todo)}] {variant.id} ({stage.NAME}) ...")
        art = run_variant(run, stage, variant, old, stage.tools())
        run.done[art.id] = art
        manifest.artifacts[art.id] = art
        manifest.save(run.folder)
        cached = " (cached)" if art.id in run.cached else ""
        log(f"[{i}/{len(todo)}] {variant.id}: {art.status_line}{cached}")
    manifest.save(run.folder)
    return manifest, run
