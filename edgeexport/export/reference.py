"""The PyTorch reference every artifact is judged against: ``artifacts/<card>/reference.npz``.

It holds the preprocessed real evaluation images (``inputs``), the PyTorch outputs for them
(``output_0``, ...), their ``ids`` and, when the data is labelled, ``labels``: a device needs no torch to
check parity or accuracy. Outputs are computed one image at a time, as a device runs them: batched
convolutions take other kernels, whose rounding alone can use up a 1e-4 tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgeexport import data
from edgeexport.artifact import atomic_output, sha256_path
from edgeexport.errors import CardError
from edgeexport.spec import ModelCard

MAX_IDS_IN_MANIFEST = 100


@dataclass(frozen=True)
class Reference:
    inputs: np.ndarray  # N x C x H x W float32
    outputs: list[list[np.ndarray]]  # per sample, per output (batch dimension 1 kept)
    labels: np.ndarray | None
    ids: tuple[str, ...]
    data_name: str
    data_sha256: str

    @property
    def top1(self) -> float | None:
        return top1(self.outputs, self.labels)


def top1(outputs: list[list[np.ndarray]], labels: np.ndarray | None) -> float | None:
    if labels is None:
        return None
    predictions = np.asarray([int(np.asarray(o[0]).ravel().argmax()) for o in outputs])
    return float((predictions == labels).mean())


def compute(card: ModelCard, model: Any, batch: int = 1) -> Reference:
    import torch

    images = data.load(card.data.evaluation or card.data.calibration, "test")
    inputs = data.preprocess_batch(list(images.images), card.preprocess, card.input)
    outputs: list[list[np.ndarray]] = []
    # One intra-op thread: batch-1 ops are too small to split, and on a busy machine two threads that
    # wait on each other made 10k Fashion-MNIST images take half an hour instead of minutes.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for start in range(0, inputs.shape[0], batch):
                out = _outputs(card, model(torch.from_numpy(inputs[start : start + batch])))
                arrays = [o.numpy() for o in out]
                for i in range(arrays[0].shape[0]):
                    outputs.append([a[i : i + 1].copy() for a in arrays])
    finally:
        torch.set_num_threads(threads)
    ref = Reference(inputs, outputs, images.labels, images.ids, images.name, images.digest())
    check_finite(card, ref)
    return ref


def _outputs(card: ModelCard, result: Any) -> tuple[Any, ...]:
    """The model's outputs as a tuple of tensors, or a CardError naming what forward returned."""
    from edgeexport.zoo.complexity import outputs_as_tuple

    try:
        out = outputs_as_tuple(result)
    except TypeError:
        raise CardError(
            f"{card.path}: the model's forward returned {type(result).__name__}; it must return a tensor "
            "or a tuple/list of tensors"
        ) from None
    return out


def check_finite(card: ModelCard, ref: Reference) -> None:
    """NaN or Inf from PyTorch itself is the model's fault, not a converter's: fail the card, named."""
    bad = sum(1 for sample in ref.outputs if not all(np.isfinite(o).all() for o in sample))
    if bad:
        raise CardError(
            f"{card.path}: the PyTorch model outputs NaN or Inf on {bad} of {len(ref.outputs)} reference "
            "images: check its weights and preprocess (nothing was exported)"
        )


def write(ref: Reference, folder: Path) -> Path:
    path = folder / "reference.npz"
    arrays: dict[str, np.ndarray] = {"inputs": ref.inputs, "ids": np.asarray(ref.ids)}
    for k in range(len(ref.outputs[0])):
        arrays[f"output_{k}"] = np.stack([sample[k] for sample in ref.outputs])
    if ref.labels is not None:
        arrays["labels"] = np.asarray(ref.labels, dtype=np.int64)
    with atomic_output(path) as tmp, tmp.open("wb") as f:
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    return path


def describe(ref: Reference, path: Path, card: ModelCard, model_sha256: str) -> dict[str, Any]:
    """The manifest's ``reference`` block."""
    return {
        "file": path.name,
        "sha256": sha256_path(path),
        "data": ref.data_name,
        "data_sha256": ref.data_sha256,
        "n": int(ref.inputs.shape[0]),
        "ids": list(ref.ids) if len(ref.ids) <= MAX_IDS_IN_MANIFEST else f"{len(ref.ids)} ids in {path.name}",
        "labelled": ref.labels is not None,
        "pytorch_top1": ref.top1,
        "model_sha256": model_sha256,
        "task": card.task,
        "input": {"name": card.input.name, "shape": list(card.input.shape), "layout": card.input.layout},
        "labels": card.data.labels,
        # what `predict` needs on a board without torch or the card: how an image becomes the input
        "preprocess": {
            "hw": list(card.input.hw),
            "resize": card.preprocess.resize,
            "mean": list(card.preprocess.mean),
            "std": list(card.preprocess.std),
            "channel_order": card.preprocess.channel_order,
        },
        "classes": class_names(card),
    }


def class_names(card: ModelCard) -> list[str] | None:
    """The names of the output classes, in index order: the card's list, or an image folder's classes."""
    if card.task != "classification":
        return None
    if card.data.labels:
        return data.class_names(card.data.labels)
    for source in (card.data.evaluation, card.data.calibration):
        if source and source.startswith("folder:"):
            from edgeexport.data import image_folder

            return image_folder.classes(Path(source.removeprefix("folder:")).expanduser())
    return None
