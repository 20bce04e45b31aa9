"""Parity metrics (numpy only) and the tolerances a card sets for each precision class."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgeexport import cards, parity
from edgeexport.export import pipeline


def _samples(rows: list[list[float]]) -> list[list[np.ndarray]]:
    return [[np.asarray([row], dtype=np.float32)] for row in rows]


def test_cosine_is_the_worst_sample_and_cosine_mean_the_mean() -> None:
    ref = _samples([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]])
    out = _samples([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]])  # last sample: cosine 1/sqrt(2)
    rep = parity.metrics(ref, out, classification=True)
    assert rep.cosine == pytest.approx(1 / math.sqrt(2))
    assert rep.cosine_mean == pytest.approx((3 + 1 / math.sqrt(2)) / 4)
    assert rep.top1_agreement == 1.0  # argmax of [1, 1, 0] is 0 in both


def test_int8_is_judged_on_the_mean_so_one_outlier_does_not_fail_it() -> None:
    ref = _samples([[3, 1, 0]] * 39 + [[1, 1, 0]])
    out = _samples([[3, 1, 0]] * 39 + [[1, -1, 0]])  # one sample of 40 at cosine 0: mean 0.975
    rep = parity.compare(ref, out, {"cosine_mean": 0.95, "top1_agreement": 0.8}, classification=True)
    assert rep.passed and rep.cosine == pytest.approx(0.0)
    worst_rule = parity.compare(ref, out, {"cosine": 0.95}, classification=True)
    assert [str(m) for m in worst_rule.misses] == ["cosine 0 (tolerance >= 0.95)"]


def test_nan_outputs_miss_every_cosine_rule() -> None:
    ref, out = _samples([[1, 2], [1, 2]]), _samples([[1, 2], [np.nan, 2]])
    rep = parity.compare(ref, out, {"cosine_mean": 0.5, "max_abs": 1.0}, classification=False)
    assert not rep.passed and math.isnan(rep.cosine_mean) and math.isnan(rep.max_abs)


def test_int8_limits_follow_the_card() -> None:
    seeded = cards.get_card("mobilenetv3_small")  # int8_top1 = 0.0: top-1 reported, not judged
    trained = cards.get_card("mobilenet_v2")
    assert pipeline.limits_for(seeded, "int8") == {"cosine_mean": 0.95}
    assert pipeline.limits_for(trained, "int8") == {"cosine_mean": 0.95, "top1_agreement": 0.8}
    assert pipeline.limits_for(trained, "fp32") == {"max_abs": 1e-4, "cosine": 0.99999}


def test_only_seeded_random_weight_cards_skip_the_int8_top1_rule() -> None:
    for name in cards.card_names():
        card = cards.get_card(name)
        if card.tolerance.int8_top1 == 0:
            assert card.weights.source == "seeded", f"{name}: trained weights must keep the top-1 rule"
