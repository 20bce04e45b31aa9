"""The faults catalogue, part 1 (docs/faults.md): bad input -- cards, options, weights, the user's own
model. Each case gets a one-line error naming the problem and the fix, and a non-zero exit. The ``case``
in each docstring is the row of docs/faults.md; part 2 (test_faults_files.py) is files and folders."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from fault_support import TESTS, cli, tiny, user, write_card

from edgeexport import cards, parity
from edgeexport.errors import CardError, UsageError, WeightsError
from edgeexport.export import reference
from edgeexport.spec import ExportOptions
from edgeexport.zoo import builder, weights

# --- cards -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_tolerance_that_is_not_a_finite_number_is_refused(tmp_path: Path, value: str) -> None:
    """case 7e: TOML has nan and inf; a NaN gate would pass everything."""
    path = write_card(tmp_path, tiny(extra=f"[tolerance]\nint8_cosine = {value}\n"))
    with pytest.raises(CardError, match=r"tolerance.int8_cosine: expected a finite number"):
        cards.load_card_file(path)


def test_a_tolerance_out_of_its_range_is_refused(tmp_path: Path) -> None:
    """case 7e: a cosine above 1 can never pass, a negative accuracy drop means nothing."""
    path = write_card(tmp_path, tiny(extra="[tolerance]\nfp16_cosine = 1.5\n"))
    with pytest.raises(CardError, match=r"fp16_cosine must be in \(0, 1\], got 1.5"):
        cards.load_card_file(path)
    path = write_card(tmp_path, tiny(extra="[tolerance]\naccuracy_drop = -1\n"))
    with pytest.raises(CardError, match=r"accuracy_drop must be >= 0 points"):
        cards.load_card_file(path)


def test_a_sha256_that_is_not_hex_is_refused(tmp_path: Path) -> None:
    """case 7f: 64 characters are not a digest."""
    extra = f'[weights]\nsource = "file"\npath = "w.pt"\nsha256 = "{"z" * 64}"\n'
    with pytest.raises(CardError, match=r"weights.sha256 must be 64 hex digits"):
        cards.load_card_file(write_card(tmp_path, tiny(extra=extra)))


@pytest.mark.parametrize("name", ["..", "v1.", "a..b"])
def test_a_card_name_that_is_not_a_plain_folder_name_is_refused(tmp_path: Path, name: str) -> None:
    """case 7g: the name is the folder under artifacts/: '..' wrote beside it, and 'v1.' would name files
    'v1..onnx_fp32.onnx' that the manifest check then refuses."""
    with pytest.raises(CardError, match=r"a card name is letters, digits"):
        cards.load_card_file(write_card(tmp_path, tiny(name=name), name=name))


def test_a_negative_resize_is_refused(tmp_path: Path) -> None:
    """case 9g: ``resize = -256`` was taken as 'no resize' (a truthy test)."""
    text = tiny().replace("[preprocess]\n", "[preprocess]\nresize = -256\n")
    with pytest.raises(CardError, match=r"preprocess.resize must be a positive size"):
        cards.load_card_file(write_card(tmp_path, text))


# --- options ---------------------------------------------------------------------------------------------


def test_an_empty_format_list_is_a_usage_error() -> None:
    """case 7d: ``--formats ','`` exported nothing and exited 0."""
    with pytest.raises(UsageError, match=r"no format given: choose from onnx"):
        ExportOptions(formats=())
    with pytest.raises(UsageError, match=r"no precision given"):
        ExportOptions(precisions=())


@pytest.mark.parametrize(
    ("value", "words"), [("-1", "must be a finite number > 0"), ("0", "> 0"), ("nan", "nan")]
)
def test_a_bench_timeout_that_is_not_positive_is_a_usage_error(
    tmp_path: Path, value: str, words: str
) -> None:
    """case 7c: ``--timeout -1`` timed every artifact out."""
    out = cli("edgeexport.bench", "--timeout", value, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    assert words in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["edgeexport", "train", "mobilenetv3_small", "--threads", "0"],
        ["edgeexport", "train", "mobilenetv3_small", "--steps", "-3"],
        ["edgeexport.bench", "predict", "--model", "mobilenetv3_small", "--threads", "0", "x.jpg"],
        ["edgeexport.bench", "predict", "--model", "mobilenetv3_small", "--top", "0", "x.jpg"],
    ],
)
def test_a_count_below_one_is_a_usage_error_in_every_command(tmp_path: Path, argv: list[str]) -> None:
    """case 7b: export and bench refused ``--threads 0``; train and predict went on with it."""
    out = cli(*argv, cwd=tmp_path)
    assert out.returncode == 2 and "must be an integer >= 1" in out.stderr and "Traceback" not in out.stderr


def test_a_calibration_count_below_one_is_refused_before_the_model_is_built() -> None:
    """case 7a: -5 calibrated on 27 of 32 images (a negative slice); 0 crashed after the build."""
    for count in (-5, 0):
        with pytest.raises(UsageError, match=r"calibration count must be >= 1"):
            ExportOptions(calibration_count=count)


# --- weights ---------------------------------------------------------------------------------------------


def _file_weights(path: Path) -> object:
    return dataclasses.replace(
        cards.get_card("mobilenet_v2").weights, source="file", path=str(path), sha256="0" * 64
    )


def test_a_weights_path_that_is_a_folder_is_named(tmp_path: Path) -> None:
    """case 9b: IsADirectoryError from hashing."""
    with pytest.raises(WeightsError, match=r"is a folder, not a file"):
        weights.load_state_dict(_file_weights(tmp_path))  # type: ignore[arg-type]


def test_a_truncated_weights_file_is_named(tmp_path: Path) -> None:
    """case 9c: a cut-off download."""
    path = tmp_path / "cut.pt"
    torch.save({"w": torch.zeros(1000)}, path)
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(WeightsError, match=r"cut.pt is not a readable torch file .*truncated\?"):
        weights.read_state_dict(path)


def test_a_weights_file_that_holds_code_is_refused_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """case 9c: torch's message suggested ``weights_only=False``, i.e. running the file's code."""

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (print, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"x": Evil()}, path)
    with pytest.raises(WeightsError, match=r"holds pickled objects or code.*refused, never run") as error:
        weights.read_state_dict(path)
    assert "weights_only=False" not in str(error.value) and "pwned" not in capsys.readouterr().out


# --- the user's model ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("builder_name", "words"),
    [
        ("raises", r"fault_models:raises raised RuntimeError: CUDA driver not found$"),
        ("raises_value", r"fault_models:raises_value raised ValueError: width must be one of 0.5, 1.0$"),
        ("not_a_module", r"fault_models:not_a_module returned a dict, not a torch.nn.Module"),
    ],
)
def test_a_user_builder_that_fails_is_named(user_cards: Path, builder_name: str, words: str) -> None:
    """case 9d: a traceback (AttributeError on ``.eval()``, or the builder's own) became one line."""
    card = cards.load_card_file(write_card(user_cards, user("faulty", builder_name)))
    with pytest.raises(CardError, match=words):
        builder.build_architecture(card)


@pytest.mark.parametrize(("builder_name", "kind"), [("returns_dict", "dict"), ("returns_none", "NoneType")])
def test_a_forward_that_returns_no_tensor_is_named(user_cards: Path, builder_name: str, kind: str) -> None:
    """case 9e: the forward's result is checked once, on the reference images, before any export."""
    card = cards.load_card_file(write_card(user_cards, user("faulty", builder_name)))
    with pytest.raises(CardError, match=rf"forward returned {kind}; it must return a tensor"):
        reference.compute(card, builder.build_architecture(card))


def test_a_zoo_argument_out_of_range_is_named(tmp_path: Path) -> None:
    """case 9f: ``variant = "smal"`` gave the family's ValueError as a traceback."""
    path = write_card(tmp_path, tiny().replace('variant = "small"', 'variant = "smal"'))
    with pytest.raises(CardError, match=r"faulty.toml: architecture.args: .*variant must be .*, got 'smal'$"):
        builder.build_architecture(cards.load_card_file(path))


def test_a_model_that_outputs_nan_fails_the_card_not_a_converter(user_cards: Path) -> None:
    """case 11a: the NaN was blamed on the ONNX file; PyTorch's own output is checked first."""
    card = cards.load_card_file(write_card(user_cards, user("faulty", "returns_nan")))
    with pytest.raises(CardError, match=r"PyTorch model outputs NaN or Inf on 16 of 16 reference images"):
        reference.compute(card, builder.build_architecture(card))


def test_nan_outputs_never_agree_on_top1() -> None:
    """case 11a: argmax of an all-NaN row is 0 on both sides, so NaN outputs 'agreed' 100 %."""
    ref = [[np.array([[5.0, 1.0, 0.0]])] for _ in range(4)]
    out = [[np.full((1, 3), np.nan)] for _ in range(4)]
    report = parity.metrics(ref, out, classification=True)
    assert report.top1_agreement == 0.0 and report.top5_overlap == 0.0


# --- docs ------------------------------------------------------------------------------------------------


def test_the_readme_says_a_card_is_code() -> None:
    """case 12: ``architecture.name = "os:system"`` runs a command; the README says so plainly."""
    readme = (TESTS.parent / "README.md").read_text()
    assert "a card is code" in readme.lower() and "weights_only" in readme
