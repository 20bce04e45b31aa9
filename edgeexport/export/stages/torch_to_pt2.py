"""torch -> ``.pt2``: the card's model as a ``torch.export`` ExportedProgram (``torch.export.save``).

This is what the ``torch`` runtime runs as the eager-PyTorch reference point: it needs torch but never the
zoo, the cards or the data, so the bench measures PyTorch like any other runtime (its load time is loading
a file, not building and calibrating a model). Saved through memory so the archive's inner folder name is
fixed (``torch.export.save`` names it after the file, and the pipeline writes to a temporary name): the same
model gives the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeexport.artifact import Precision
from edgeexport.export.stages import Variant, versions

if TYPE_CHECKING:
    from edgeexport.export.context import StageContext
    from edgeexport.spec import ExportOptions, ModelCard

NAME = "torch_to_pt2"
VERSION = "1"
SRC = "torch"
DST = "pt2"


def tools() -> dict[str, str]:
    return versions("torch")


def variants(card: ModelCard, options: ExportOptions) -> list[Variant]:
    return [Variant("pt2_fp32", Precision("float32", "float32"), {"exporter": "torch.export"}, ext=".pt2")]


def run(ctx: StageContext, variant: Variant, parent: Path | None, out: Path) -> dict[str, Any]:
    import torch

    program = torch.export.export(ctx.model_for(variant.id), (ctx.example,))
    buffer = io.BytesIO()
    torch.export.save(program, buffer)
    out.write_bytes(buffer.getvalue())
    nodes = [n for n in program.graph.nodes if n.op == "call_function"]
    return {"graph_nodes": len(nodes), "torch": torch.__version__}
