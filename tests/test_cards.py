from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
import torch

from edgeexport import cards
from edgeexport.errors import CardError
from edgeexport.zoo import builder

MINIMAL = """
name = "{name}"
task = "classification"
[architecture]
name = "mobilenet_v3"
args = {{ variant = "small", num_classes = 10 }}
[input]
shape = [1, 3, 64, 64]
"""


def write(tmp_path: Path, text: str, name: str = "mine") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(textwrap.dedent(text))
    return path


def test_every_card_parses(card_names: list[str]) -> None:
    assert len(card_names) >= 13
    for name in card_names:
        card = cards.get_card(name)
        assert card.name == name


def test_minimal_card_gets_defaults(tmp_path: Path) -> None:
    card = cards.load_card_file(write(tmp_path, MINIMAL.format(name="mine")))
    assert card.tolerance.fp32_max_abs == 1e-4
    assert card.weights.source == "seeded"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[input]\nshap = [1]\n", "input.shap: unknown key; did you mean 'shape'?"),
        ("colour = 1\n", "colour: unknown key"),
        ("[tolerance]\nfp32_max_abs = 'small'\n", "tolerance.fp32_max_abs: expected a number"),
        ("[preprocess]\nchannel_order = 'RBG'\n", "preprocess.channel_order: 'RBG' is not one of"),
        ("[weights]\nsource = 'file'\n", "needs weights.path and weights.sha256"),
    ],
)
def test_bad_card_names_file_and_key(tmp_path: Path, extra: str, message: str) -> None:
    text = MINIMAL.format(name="mine")
    if extra.startswith("[input]"):
        text = text.replace("[input]\nshape = [1, 3, 64, 64]\n", extra)
    else:
        text = extra + text if not extra.startswith("[") else text + extra
    with pytest.raises(CardError) as info:
        cards.load_card_file(write(tmp_path, text))
    assert "mine.toml" in str(info.value)
    assert message in str(info.value)


def test_card_name_must_match_file(tmp_path: Path) -> None:
    with pytest.raises(CardError, match="must match the file name"):
        cards.load_card_file(write(tmp_path, MINIMAL.format(name="other"), name="mine"))


def test_user_architecture_from_package_module_callable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_nets.py").write_text(
        "import torch\n"
        "def tiny(num_classes=10):\n"
        "    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.AdaptiveAvgPool2d(1),\n"
        "                               torch.nn.Flatten(), torch.nn.Linear(4, num_classes))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    text = MINIMAL.format(name="mine").replace('name = "mobilenet_v3"', 'name = "my_nets:tiny"')
    text = text.replace('variant = "small", ', "")
    card = cards.load_card_file(write(tmp_path, text))
    model = builder.build_model(card)
    assert model(torch.zeros(card.input.shape)).shape == (1, 10)
    sys.modules.pop("my_nets", None)


def test_architecture_args_that_do_not_fit(tmp_path: Path) -> None:
    text = MINIMAL.format(name="mine").replace('variant = "small"', 'variantt = "small"')
    card = cards.load_card_file(write(tmp_path, text))
    with pytest.raises(CardError, match=r"architecture.args do not fit 'mobilenet_v3'"):
        builder.build_architecture(card)
