"""What a converter stage may read: one frozen ``StageContext`` per card and run.

A stage gets the card, the options, the PyTorch model and the real data it was exported with; it never
sees (or changes) the pipeline's own bookkeeping: the manifest, the cache, the other artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeexport.export.reference import Reference
from edgeexport.spec import ExportOptions, ModelCard


@dataclass(frozen=True)
class Validation:
    """The labelled ``val`` split (never the test set) and PyTorch fp32's top-1 on it: what the
    accuracy-aware int8 search tunes against."""

    inputs: np.ndarray
    labels: np.ndarray
    top1: float


@dataclass(frozen=True)
class StageContext:
    card: ModelCard
    options: ExportOptions  # calibration_count is the number of calibration images actually used
    model: Any  # torch.nn.Module in eval mode
    example: Any  # torch.Tensor, batch 1
    calibration: np.ndarray  # N x C x H x W, preprocessed real images
    reference: Reference  # the inputs and PyTorch outputs every artifact is judged against
    validation: Validation | None = None
    rewritten: Any = None  # the model after export/rewrites.py, proven equal in float; None: none applied
    rewrites: dict[str, int] | None = None  # rewrite -> modules it changed

    made: dict[tuple[str, ...], Any] = field(default_factory=dict)  # models with a subset of the rewrites

    def rewrites_for(self, artifact_id: str) -> dict[str, int]:
        """The rewrites this artifact is made with (measured to gain on its route) -> modules changed."""
        from edgeexport.export import rewrites

        return {
            n: (self.rewrites or {})[n] for n in rewrites.for_artifact(artifact_id, list(self.rewrites or {}))
        }

    def model_for(self, artifact_id: str) -> Any:
        """The model this artifact is made from: with the rewrites that make its route faster, else as built.
        A model with only some of the rewrites is made once and proven equal in float like the full one."""
        import copy

        from edgeexport.export import rewrites

        names = tuple(self.rewrites_for(artifact_id))
        if not names:
            return self.model
        if names == tuple(self.rewrites or {}):
            return self.rewritten
        if names not in self.made:
            model = copy.deepcopy(self.model)
            rewrites.rewrite_proven(model, self.model, names, self.reference.inputs)
            self.made[names] = model
        return self.made[names]
