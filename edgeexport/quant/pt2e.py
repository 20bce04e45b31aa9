"""PT2E post-training quantization, shared by the stages that take it (TFLite through litert-torch's
quantizer, ExecuTorch through XNNPACK's): export the model, insert the quantizer's observers, run the card's
calibration images through it one at a time, convert. The quantizer is the stage's; this is the plumbing.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def calibration_batches(calibration: np.ndarray, *, nhwc: bool = False) -> list[Any]:
    """The calibration images as batch-1 tensors (channels last for an NHWC model)."""
    import torch

    batches = [torch.from_numpy(calibration[i : i + 1].copy()) for i in range(calibration.shape[0])]
    return [b.permute(0, 2, 3, 1).contiguous() for b in batches] if nhwc else batches


def quantize(
    module: Any, example: Any, quantizer: Any, batches: list[Any], *, fold_quantize: bool = True
) -> Any:
    """``module`` exported, observed on ``batches`` and converted by ``quantizer`` (a torch GraphModule)."""
    import torch
    from torchao.quantization.pt2e import quantize_pt2e

    prepared = quantize_pt2e.prepare_pt2e(torch.export.export(module, (example,)).module(), quantizer)
    with torch.no_grad():
        for batch in batches:
            prepared(batch)
    return quantize_pt2e.convert_pt2e(prepared, fold_quantize=fold_quantize)
