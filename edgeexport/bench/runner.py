"""Run the bench: resolve runtimes and targets, measure each target in a fresh process, assemble the JSON."""

from __future__ import annotations

import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import edgeexport
from edgeexport.bench import EMULATED_ENV, SCHEMA, environment, harness
from edgeexport.bench.targets import (
    Target,
    adapter_options,
    filter_artifacts,
    read_manifest,
    reference_problem,
    select_cards,
    targets,
)
from edgeexport.errors import EdgeExportError, UnknownNameError
from edgeexport.registry import suggest
from edgeexport.runtimes import RUNTIMES, adapter

FATAL = ("error", "crashed", "timeout", "sha256 mismatch", "missing")


class NothingToDo(EdgeExportError):
    """Nothing can run here; ``exit_code`` says whether that is a failure (1, 2) or a fact (0)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def unavailable(name: str) -> str | None:
    """Why ``name`` cannot run here. The parent never imports torch: for the runtimes that need it (torch,
    executorch), finding the packages is enough (the child imports them, and reports if that fails)."""
    if RUNTIMES.get(name).needs_torch:
        for package in ("torch",) if name == "torch" else ("torch", name):
            try:
                found = importlib.util.find_spec(package) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return f"{package} is not installed (the {name} runtime needs it)"
        return None
    reason: str | None = adapter(name).unavailable()
    return reason


def resolve_runtimes(requested: str) -> tuple[list[str], list[str]]:
    """(runtimes to run, notes about the ones that cannot run here)."""
    if requested == "all":
        reasons = {name: unavailable(name) for name in RUNTIMES.names()}
        notes = [f"{n}: unavailable: {r}" for n, r in reasons.items() if r]
        return [n for n, r in reasons.items() if not r], notes
    if requested not in RUNTIMES:
        choices = [*RUNTIMES.names(), "all"]
        raise UnknownNameError(f"no runtime {requested!r}{suggest(requested, choices)}")
    reason = unavailable(requested)
    if reason:
        platforms = getattr(adapter(requested), "PLATFORMS", None)
        # Another OS is a fact about this machine, not an error; a missing package is fixable: exit 2.
        code = 0 if platforms and platform.system() not in platforms else 2
        raise NothingToDo(f"{requested}: unavailable: {reason}", code)
    return [requested], []


def runtime_options(name: str, ort_provider: str, xnnpack: bool, *, local: bool = True) -> dict[str, Any]:
    """The adapter options; ``local``: check here that the provider exists (a board checks its own)."""
    if name == "onnxruntime":
        if ort_provider == "xnnpack" and local:
            from edgeexport.runtimes import onnxruntime as ort_adapter

            have = ort_adapter.providers()
            if "XnnpackExecutionProvider" not in have:
                raise NothingToDo(
                    "onnxruntime: this build has no XNNPACK execution provider (it has "
                    f"{', '.join(have)}); use --ort-provider cpu, or a build with XNNPACK",
                    2,
                )
        return {"provider": ort_provider}
    if name == "litert":
        return {"xnnpack": xnnpack}
    return {}


@dataclass
class Plan:
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    references: dict[str, str] = field(default_factory=dict)  # card -> what is wrong with its reference.npz
    missing: list[Target] = field(default_factory=list)  # listed in a manifest, not on disk: reported


def plan(root: Path, runtimes: list[str], models: list[str] | None, artifacts: list[str] | None) -> Plan:
    cards = select_cards(root, models)
    if not cards:
        raise NothingToDo(
            f"no exported model under {root}; run `make export MODEL=mobilenetv3_small` first "
            "(or point --artifacts at an export)",
            1,
        )
    manifests = {name: read_manifest(folder) for name, folder in cards.items()}
    known = [a["id"] for m in manifests.values() for a in m["artifacts"]]
    result = Plan()
    for name, folder in cards.items():
        problem = reference_problem(folder, manifests[name])
        if problem:
            result.references[name] = problem
    for runtime in runtimes:
        for name, folder in cards.items():
            found, skipped = targets(runtime, folder, manifests[name])
            for target in filter_artifacts(found, artifacts, known):
                if Path(target.path).exists():
                    result.targets.append(target)
                else:
                    result.missing.append(target)
                    skipped.append(f"{name}/{target.artifact}: {Path(target.path).name} is missing")
            result.notes += [f"{runtime}: skipping {line}" for line in skipped]
    return result


def _verify(target: Target) -> bool | None:
    if target.sha256 is None:
        return None
    from edgeexport.artifact import sha256_path

    return sha256_path(Path(target.path)) == target.sha256


def record(target: Target, options: dict[str, Any], raw: dict[str, Any], verified: bool | None) -> dict:
    emulated = bool(os.environ.get(EMULATED_ENV))
    timing, latency = raw.get("timing") or None, raw.get("latency_ms")
    return {
        "card": target.card,
        "artifact": target.artifact,
        "runtime": target.runtime,
        "format": target.format,
        "precision_kind": target.kind,
        "file": Path(target.path).name,
        "file_size_bytes": target.size,
        "sha256": target.sha256,
        "sha256_verified": verified,
        "manifest_status": target.manifest_status,
        "manifest_reason": target.manifest_reason,
        "options": options,
        "status": raw["status"],
        "reason": raw.get("reason"),
        "runtime_version": raw.get("runtime_version"),
        "timing": None if emulated else timing,
        "latency_ms": None if emulated else latency,
        "emulated_timing": {"timing": timing, "latency_ms": latency} if emulated and latency else None,
        "samples_ns": raw.get("samples_ns") or [],
        "memory": raw.get("memory"),
        "parity": raw.get("parity"),
        "accuracy": raw.get("accuracy"),
        "profile": raw.get("profile"),  # --profile: where the time goes, per op (bench/profile.py)
        "inputs": raw.get("inputs"),  # model files: where the inputs came from (random or --inputs)
        "process_wall_s": raw.get("process_wall_s"),
        "traceback": raw.get("traceback"),
    }


def _progress(total: int) -> tuple[AbstractContextManager[Any], Callable[[str], None], Callable[[], None]]:
    """(context, describe(text), advance()) - rich's progress bar when available, else text on stderr."""
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:
        counter = [0]

        def describe(text: str) -> None:
            counter[0] += 1
            print(f"[{counter[0]}/{total}] {text} ...", file=sys.stderr, flush=True)

        return nullcontext(), describe, lambda: None
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("bench", total=total)
    return bar, lambda text: bar.update(task, description=text), lambda: bar.advance(task)


def execute(the_plan: Plan, settings: dict[str, Any], options: dict[str, dict[str, Any]]) -> list[dict]:
    results = []
    context, describe, advance = _progress(len(the_plan.targets) + len(the_plan.missing))
    with context:
        for target in the_plan.missing + the_plan.targets:
            describe(f"{target.card}/{target.artifact} ({target.runtime})")
            own = adapter_options(target, options[target.runtime])
            child = dict(settings, options=own)
            missing = not Path(target.path).exists()
            verified = None if missing else _verify(target)
            if missing:
                raw = {"status": "missing", "reason": f"{target.path} is listed in the manifest but missing"}
            elif target.card in the_plan.references:
                raw = {"status": "sha256 mismatch", "reason": the_plan.references[target.card]}
            elif verified is False:
                raw = {
                    "status": "sha256 mismatch",
                    "reason": f"{target.path} differs from its manifest entry",
                }
            else:
                raw = harness.run_target(target, child, timeout_s=settings["timeout_s"])
            results.append(record(target, own, raw, verified))
            advance()
    return results


def document(runtime: str, settings: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "edgeexport": edgeexport.__version__,
        "command": " ".join(["python -m edgeexport.bench", *sys.argv[1:]]),
        "runtime": runtime,
        "settings": settings,
        "environment": environment.collect(settings["threads"]),
        "results": results,
        "device": None,  # "ssh://..." when measured on a board with --device
    }


def exit_code(results: list[dict[str, Any]]) -> int:
    """2 for input the user must fix; 1 when a run broke, or when an artifact that passed parity at export
    misses it here."""
    if any(r["status"] == "bad input" for r in results):
        return 2
    for r in results:
        if r["status"] in FATAL or (r["status"] == "parity miss" and r["manifest_status"] == "ok"):
            return 1
    return 0
