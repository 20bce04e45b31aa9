"""Build the ``nn.Module`` a card describes, with its weights, in eval mode."""

from __future__ import annotations

import importlib

import numpy as np
import torch
from torch import nn

from edgeexport import data, zoo
from edgeexport.cards import root_of
from edgeexport.errors import CardError
from edgeexport.spec import ModelCard
from edgeexport.zoo.weights import calibrate_batchnorm, load_into, load_state_dict


def _builder(card: ModelCard) -> zoo.Builder:
    name = card.architecture.name
    if not card.architecture.is_user_callable:
        return zoo.load_families().get(name)
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
        builder = getattr(module, attr)
    except (ImportError, AttributeError) as error:
        raise CardError(f"{card.path}: architecture.name {name!r} cannot be imported: {error}") from None
    if not callable(builder):
        raise CardError(f"{card.path}: architecture.name {name!r} is not callable")
    return builder  # type: ignore[no-any-return]


def build_architecture(card: ModelCard) -> nn.Module:
    """The architecture with its seeded initialisation (no weights, no BatchNorm calibration)."""
    torch.manual_seed(card.weights.seed)
    name = card.architecture.name
    make = _builder(card)  # an unknown or unimportable name is its own CardError
    try:
        model = make(**card.architecture.args)
    except TypeError as error:
        raise CardError(f"{card.path}: architecture.args do not fit {name!r}: {error}") from None
    except (ValueError, KeyError) as error:
        if card.architecture.is_user_callable:
            raise CardError(f"{card.path}: {name} raised {type(error).__name__}: {error}") from None
        # the zoo's families name the bad value (variant = "smal")
        text = error.args[0] if isinstance(error, KeyError) and error.args else str(error)  # KeyError quotes
        raise CardError(f"{card.path}: architecture.args: {text}") from None
    except Exception as error:  # a user's builder that raises: its error, named, one line
        first = (str(error).strip().splitlines() or [""])[0]
        raise CardError(f"{card.path}: {name} raised {type(error).__name__}: {first}") from None
    if not isinstance(model, nn.Module):
        raise CardError(f"{card.path}: {name} returned a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def calibration_inputs(card: ModelCard, split: str = "calibration", count: int | None = None) -> np.ndarray:
    images = data.load(card.data.calibration, split).subset(count)
    return data.preprocess_batch(list(images.images), card.preprocess, card.input)


def build_model(card: ModelCard) -> nn.Module:
    """The card's model, ready to export: weights loaded or BatchNorm calibrated on real images."""
    model = build_architecture(card)
    if card.weights.source == "seeded":
        if card.weights.bn_calibration:
            images = data.load(card.weights.bn_calibration, "calibration")
            batch = data.preprocess_batch(list(images.images), card.preprocess, card.input)
            calibrate_batchnorm(model, torch.from_numpy(batch))
    else:
        load_into(model, load_state_dict(card.weights, root_of(card)), card.weights.path or "")
    return model.eval()
