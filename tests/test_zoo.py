"""Every card's architecture against the published figures, driven by the registries."""

from __future__ import annotations

import pytest
import torch

from edgeexport import cards, zoo
from edgeexport.zoo import builder, complexity
from edgeexport.zoo.inception_v3 import InceptionOutputs, inception_v3
from edgeexport.zoo.train import AUX_WEIGHT, training_loss

CARDS = cards.card_names()
# Big enough that building/exporting them takes several seconds each on 2 cores.
HEAVY = {"xception", "googlenet", "inception_v3", "shufflenet_v2_x2_0"}


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


def test_inception_v3_auxiliary_head_trains_and_leaves_export_alone() -> None:
    """With ``aux_logits=True`` a training forward gives (logits, aux) and the training loss weighs the aux
    head in (so it gets gradients); in eval the model returns the logits alone, as export sees it."""
    model = inception_v3(num_classes=5, aux_logits=True, width_mult=0.125).train()
    x = torch.randn(2, 3, 299, 299, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([1, 3])
    out = model(x)
    assert isinstance(out, InceptionOutputs) and out.aux_logits.shape == (2, 5)
    loss_fn = torch.nn.CrossEntropyLoss()
    loss = training_loss(loss_fn, out, y)
    torch.testing.assert_close(loss, loss_fn(out.logits, y) + AUX_WEIGHT * loss_fn(out.aux_logits, y))
    loss.backward()
    assert model.AuxLogits is not None and model.AuxLogits.fc.weight.grad is not None
    assert model.AuxLogits.fc.weight.grad.abs().sum() > 0
    assert isinstance(model.eval()(x), torch.Tensor)
