"""Reference architectures, one file per family, registered by name.

A family module registers its builder with ``@register_model("name")``; a builder takes keyword
arguments only (``num_classes``, widths, variants) and returns an ``nn.Module`` in eval-ready state.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from torch import nn

from edgeexport.registry import Registry

Builder = Callable[..., nn.Module]
MODELS: Registry[Builder] = Registry("architecture")

FAMILIES = (
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3",
    "shufflenet_v1",
    "shufflenet_v2",
    "mobilenext",
    "blazeface",
    "xception",
    "googlenet",
    "inception_v3",
)


def register_model(name: str) -> Callable[[Builder], Builder]:
    return MODELS.register(name)


def load_families() -> Registry[Builder]:
    """Import every family module so its builders are registered (idempotent)."""
    for family in FAMILIES:
        importlib.import_module(f"edgeexport.zoo.{family}")
    return MODELS


def build(name: str, **kwargs: object) -> nn.Module:
    return load_families().get(name)(**kwargs)
