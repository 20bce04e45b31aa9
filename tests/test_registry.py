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
