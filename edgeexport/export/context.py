"""What a converter stage may read: one frozen ``StageContext`` per card and run.

A stage gets the card, the options, the PyTorch model and the real data it was exported with; it never
sees (or changes) the pipeline's own bookkeeping: the manifest, the cache, the other artifacts.
"""

from __future__ import annotations

from dataclasses import dataclass
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

    def model_for(self, artifact_id: str) -> Any:
        """The model this artifact is made from: the rewritten one for the routes it makes faster."""
        from edgeexport.export import rewrites

        return self.rewritten if self.rewritten is not None and rewrites.used_by(artifact_id) else self.model
