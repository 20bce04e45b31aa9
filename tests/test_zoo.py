"""Every card's architecture against the published figures, driven by the registries."""

from __future__ import annotations

import pytest
import torch

from edgeexport import cards, zoo
from edgeexport.zoo import builder, complexity

CARDS = cards.card_names()
# Big enough that building/exporting them takes several seconds each on 2 cores.
HEAVY = {"xception", "googlenet", "shufflenet_v2_x2_0"}


def marks(name: str) -> list[pytest.MarkDecorator]:
    return [pytest.mark.slow] if name in HEAVY else []


PARAMS = [pytest.param(n, id=n, marks=marks(n)) for n in CARDS]


def test_every_registered_architecture_has_a_card() -> None:
    used = {cards.get_card(n).architecture.name for n in CARDS}
    missing = set(zoo.load_families().names()) - used
    assert not missing, f"architectures with no model card (so no test): {sorted(missing)}"


def test_every_family_has_a_trained_fashion_mnist_card() -> None:
    trained = {
        card.architecture.name
        for card in map(cards.get_card, CARDS)
        if card.data.evaluation == "fashion_mnist" and card.weights.source == "file" and card.weights.sha256
    }
    missing = set(zoo.load_families().names()) - trained
    assert not missing, f"families with no trained *_fmnist card (no real int8 accuracy): {sorted(missing)}"


def test_every_zoo_card_checks_a_published_figure() -> None:
    for name in CARDS:
        expect = cards.get_card(name).expect
        assert expect.source, f"{name}: [expect] names no source"
        assert expect.params or expect.macs or expect.output_shapes, f"{name}: [expect] checks nothing"


@pytest.mark.parametrize("name", PARAMS)
def test_figures_match_the_paper(name: str) -> None:
    card = cards.get_card(name)
    c = complexity.measure(builder.build_architecture(card), card.input.shape)
    e = card.expect
    if e.params is not None:
        assert abs(c.params - e.params) <= e.params_rtol * e.params, (
            f"{name}: {c.params:,} parameters, expected {e.params:,} (rtol {e.params_rtol})"
        )
    if e.macs is not None:
        assert abs(c.macs - e.macs) <= e.macs_rtol * e.macs, (
            f"{name}: {c.macs / 1e6:.1f} M MACs, expected {e.macs / 1e6:.1f} M (rtol {e.macs_rtol})"
        )
    if e.output_shapes is not None:
        assert c.output_shapes == e.output_shapes


@pytest.mark.parametrize("name", PARAMS)
def test_builds_runs_deterministically_and_exports(name: str) -> None:
    card = cards.get_card(name)
    model = builder.build_model(card)  # real weights or real-image BatchNorm statistics
    x = torch.randn(card.input.shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        first = complexity.outputs_as_tuple(model(x))
        second = complexity.outputs_as_tuple(model(x))
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a, b), f"{name}: eval mode is not deterministic"
        assert torch.isfinite(a).all()
    if card.task == "classification":
        assert first[0].shape == (1, card.architecture.args.get("num_classes", 1000))
    exported = torch.export.export(model, (x,))
    with torch.no_grad():
        again = complexity.outputs_as_tuple(exported.module()(x))
    for a, b in zip(first, again, strict=True):
        torch.testing.assert_close(a, b)


def test_seeded_batchnorm_statistics_come_from_real_images() -> None:
    model = builder.build_model(cards.get_card("mobilenetv3_small"))
    bn = model.features[0][1]
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
