"""Converter stages, one file each, named source_to_destination.

A stage module defines NAME, VERSION, SRC and DST formats, ``tools()`` (versions that shape its output),
``variants(card, options)`` (the artifacts it can make for a card; it reads nothing else) and
``run(ctx, variant, parent, out)``, which gets a frozen ``StageContext`` (export/context.py), writes exactly
one artifact at ``out`` and returns details for the manifest. The pipeline plans the
order from SRC/DST, so a new format is one new file plus its name in STAGE_MODULES.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from edgeexport.artifact import Precision
from edgeexport.registry import Registry

STAGE_MODULES = (
    "torch_to_onnx",
    "onnx_simplify",
    "onnx_quantize",
    "onnx_nncf",
    "torch_to_tflite",
    "tflite_quantize",
    "torch_to_coreml",
    "torch_to_pt2",
    "torch_to_executorch",
    "torch_to_ncnn",
)


@dataclass(frozen=True)
class Variant:
    """One artifact a stage can make. ``parents`` are tried in order (the first that is ok is used)."""

    id: str
    precision: Precision
    config: dict[str, Any] = field(default_factory=dict)
    parents: tuple[str, ...] = ()
    ext: str = ""

    def file_name(self, card: str) -> str:
        return f"{card}.{self.id}{self.ext}"


def versions(*distributions: str) -> dict[str, str]:
    """Installed versions, read from package metadata (no heavy import just to ask)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for dist in distributions:
        try:
            found[dist] = version(dist)
        except PackageNotFoundError:
            found[dist] = "not installed"
    return found


def load_stages() -> Registry[ModuleType]:
    stages: Registry[ModuleType] = Registry("stage")
    for name in STAGE_MODULES:
        module = importlib.import_module(f"edgeexport.export.stages.{name}")
        stages.add(module.NAME, module)
    return stages


def plan(items: list[tuple[ModuleType, Variant]]) -> list[tuple[ModuleType, Variant]]:
    """Order (stage, variant) pairs so every variant comes after the variants it may take as parent.

    Stages from ``torch`` need nothing; the others name their parents (``onnx_fp32_sim`` then
    ``onnx_fp32``), which is what their SRC format means for this card. Ties keep the given order.
    """
    ids = {v.id for _, v in items}
    pending = list(items)
    ordered: list[tuple[ModuleType, Variant]] = []
    placed: set[str] = set()
    while pending:
        ready = [(s, v) for s, v in pending if all(p in placed or p not in ids for p in v.parents)]
        if not ready:
            raise RuntimeError(f"circular parents among {[v.id for _, v in pending]}")
        for item in ready:
            ordered.append(item)
            pending.remove(item)
            placed.add(item[1].id)
    return ordered
