from __future__ import annotations

import pytest

from edgeexport import cards, zoo
from edgeexport.errors import DuplicateNameError, UnknownNameError
from edgeexport.registry import Registry


def test_duplicate_name_is_an_error() -> None:
    reg: Registry[int] = Registry("thing")
    reg.add("a", 1)
    with pytest.raises(DuplicateNameError, match="already registered under the name 'a'"):
        reg.add("a", 2)


def test_unknown_name_suggests_but_does_not_correct() -> None:
    reg: Registry[int] = Registry("model")
    reg.add("mobilenetv3_small", 1)
    with pytest.raises(UnknownNameError) as info:
        reg.get("mobilenetv3_smal")
    assert str(info.value) == "no model 'mobilenetv3_smal'; did you mean 'mobilenetv3_small'?"


def test_unknown_card_suggests_close_match() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'mobilenetv3_small'"):
        cards.get_card("mobilenetv3_smal")


def test_unknown_architecture_suggests_close_match() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'mobilenet_v3'"):
        zoo.build("mobilenet_v33")


# Completeness: whatever is registered is tested. A new stage must make an artifact of a card in the parity
# matrix (tests/test_parity_matrix.py runs every one of them on every runtime that reads it); a new runtime
# must read a format that matrix produces; a new data source must be loaded in tests/test_data.py.


def test_every_stage_makes_an_artifact_the_parity_matrix_runs() -> None:
    from test_parity_matrix import PARITY_SET, options_for

    from edgeexport.export import pipeline, stages

    made = {
        stage
        for name in PARITY_SET
        for stage in _stages_of(pipeline, stages, cards.get_card(name), options_for(name))
    }
    assert set(stages.STAGE_MODULES) - made == set()


def _stages_of(pipeline, stages, card, options) -> set[str]:  # type: ignore[no-untyped-def]
    registry = stages.load_stages()
    planned = {artifact for artifact, _ in pipeline.planned(card, options)}
    return {
        name
        for name in stages.STAGE_MODULES
        for v in registry.get(name).variants(card, options)
        if v.id in planned
    }


def test_every_runtime_reads_a_format_the_parity_matrix_produces() -> None:
    from test_parity_matrix import PARITY_SET

    from edgeexport import runtimes
    from edgeexport.export import pipeline
    from edgeexport.spec import ExportOptions

    formats = {
        fmt for name in PARITY_SET for _, fmt in pipeline.planned(cards.get_card(name), ExportOptions())
    }
    untested = [n for n in runtimes.RUNTIMES.names() if not set(runtimes.RUNTIMES.get(n).formats) & formats]
    assert untested == []


def test_every_data_source_is_loaded_in_the_data_tests() -> None:
    from pathlib import Path

    from edgeexport import data

    data.load("real_photos", "calibration")  # registers the sources
    text = (Path(__file__).parent / "test_data.py").read_text()
    assert [name for name in data.SOURCES.names() if f'"{name}"' not in text] == []
