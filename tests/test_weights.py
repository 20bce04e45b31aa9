"""Real weights: torchvision's ImageNet MobileNetV2 must recognise real photos."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from edgeexport import cards, data, images
from edgeexport.data import photos
from edgeexport.errors import WeightsError
from edgeexport.zoo import builder, weights

CAT_CLASSES = {281, 282, 283, 284, 285}  # tabby, tiger cat, Persian, Siamese, Egyptian cat


def predict(name: str) -> np.ndarray:
    card = cards.get_card("mobilenet_v2")
    model = builder.build_model(card)
    root = photos._package_dir("skimage", "data")
    x = data.preprocess_image(images.read_image(root / name), card.preprocess, card.input)
    with torch.no_grad():
        return model(torch.from_numpy(x[None]))[0].numpy()


def test_mobilenet_v2_recognises_espresso() -> None:
    logits = predict("coffee.png")
    assert data.class_names("imagenet")[int(logits.argmax())].startswith("espresso")


def test_mobilenet_v2_recognises_a_cat() -> None:
    assert int(predict("chelsea.png").argmax()) in CAT_CLASSES


def test_wrong_checksum_is_refused(tmp_path: Path) -> None:
    card = cards.get_card("mobilenet_v2")
    bad = dataclasses.replace(card.weights, sha256="0" * 64)
    with pytest.raises(WeightsError, match="the card expects 0000"):
        weights.load_state_dict(bad)


def test_weights_are_loaded_without_unpickling_code(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    torch.save({"x": Evil()}, path)
    spec = dataclasses.replace(
        cards.get_card("mobilenet_v2").weights,
        source="file",
        path=str(path),
        sha256=weights.sha256_file(path),
    )
    with pytest.raises(WeightsError, match=r"holds pickled objects or code, not only tensors .*: refused"):
        weights.load_state_dict(spec)


def test_weights_that_do_not_fit_are_named() -> None:
    card = cards.get_card("mobilenetv3_small")
    model = builder.build_architecture(card)
    state = weights.load_state_dict(cards.get_card("mobilenet_v2").weights)
    with pytest.raises(WeightsError, match="do not fit the architecture"):
        weights.load_into(model, state, "mobilenet_v2")
