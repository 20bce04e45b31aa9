"""The faults catalogue, part 3 (docs/faults.md): property-based fuzzing of the readers of what a user
hands over -- model cards, manifests, bench results. No input may give a traceback: each reader returns,
or raises its one named error (the CLI prints it on one line, non-zero exit). Derandomized, so CI sees
the same examples every run."""

from __future__ import annotations

import contextlib
import copy
import json
import tomllib
from pathlib import Path
from typing import Any

from conftest import TINY_CARD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeexport import cards
from edgeexport.artifact import read_manifest_file
from edgeexport.bench import SCHEMA, report
from edgeexport.errors import CardError, ManifestError, UsageError

FUZZ = settings(
    max_examples=250, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
BASE = tomllib.loads(TINY_CARD.format(name="fuzz", size=32))
SECTIONS = ["name", "task", "architecture", "input", "preprocess", "weights", "data", "tolerance", "expect",
            "target", "nosuch"]  # fmt: skip
KEYS = ["name", "args", "shape", "resize", "mean", "std", "channel_order", "source", "seed", "path", "sha256",
        "calibration", "int8_cosine", "accuracy_drop", "params", "onnxruntime", "layout", "x"]  # fmt: skip


def _set(card: dict[str, Any], section: str, key: str, value: Any) -> None:
    if section in ("name", "task", "nosuch") or not isinstance(card.get(section, {}), dict):
        card[section] = value
    else:
        card.setdefault(section, {})[key] = value


@FUZZ
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(SECTIONS), st.sampled_from(KEYS), values), min_size=1, max_size=3
    )
)
def test_the_card_reader_gives_a_card_or_a_card_error(edits: list[tuple[str, str, Any]]) -> None:
    card = copy.deepcopy(BASE)
    for section, key, value in edits:
        _set(card, section, key, value)
    with contextlib.suppress(CardError):
        cards.parse_card(card, "fuzz.toml")


def _valid_manifest() -> dict[str, Any]:
    entry = {"id": "onnx_fp32", "format": "onnx", "file": "m.onnx_fp32.onnx", "status": "ok",
             "precision": {"weights": "float32", "activations": "float32"}, "sha256": "0" * 64}  # fmt: skip
    return {
        "manifest_version": 1,
        "card": "fuzz",
        "reference": {"file": "reference.npz"},
        "artifacts": [entry],
    }


@FUZZ
@given(
    path=st.lists(
        st.sampled_from(["card", "artifacts", 0, "file", "id", "precision", "reference", "x"]), max_size=3
    ),
    value=values,
)
def test_the_manifest_reader_gives_a_manifest_or_a_manifest_error(
    tmp_path_factory: Any, path: list[Any], value: Any
) -> None:
    data: Any = _valid_manifest()
    if path:
        at = data
        for step in path[:-1]:
            try:
                at = at[step]
            except (KeyError, IndexError, TypeError):
                break
        try:
            at[path[-1]] = value
        except (TypeError, IndexError):
            data = value
    else:
        data = value
    file = tmp_path_factory.mktemp("m") / "manifest.json"
    file.write_text(json.dumps(data, allow_nan=True))
    try:
        read = read_manifest_file(file)
    except ManifestError:
        return
    assert all(isinstance(a["file"], str) and ".." not in a["file"] for a in read["artifacts"])


@FUZZ
@given(results=values, raw=st.binary(max_size=40))
def test_the_bench_result_reader_gives_a_result_or_a_usage_error(
    tmp_path_factory: Any, results: Any, raw: bytes
) -> None:
    folder: Path = tmp_path_factory.mktemp("r")
    for name, content in (
        ("a.json", json.dumps({"schema": SCHEMA, "results": results}).encode()),
        ("b.json", raw),
    ):
        (folder / name).write_bytes(content)
        with contextlib.suppress(UsageError):
            report.load_json(folder / name)
