"""Model cards: one TOML file per concrete model in ``models/``, parsed strictly.

The checker below is hand-written on purpose: it is ~60 lines of standard library over the frozen spec
dataclasses, and its errors name the file, the key and a close match in one line. pydantic (what AI Hub
uses) would add a dependency to the core that the device side imports around, and prints multi-line errors.

An unknown key or a value of the wrong type is a ``CardError`` naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from functools import cache
from pathlib import Path
from typing import Any

from edgeexport import defaults
from edgeexport.errors import CardError, UnknownNameError
from edgeexport.registry import suggest
from edgeexport.spec import (
    ArchitectureSpec,
    DataSpec,
    Expect,
    InputSpec,
    ModelCard,
    Preprocess,
    RuntimeTarget,
    Tolerance,
    WeightsSpec,
)

_SECTIONS: dict[str, type] = {
    "architecture": ArchitectureSpec,
    "input": InputSpec,
    "preprocess": Preprocess,
    "weights": WeightsSpec,
    "data": DataSpec,
    "tolerance": Tolerance,
    "expect": Expect,
    "target": RuntimeTarget,
}
_TOP_LEVEL = {"name", "description", "task"}


def _check(value: Any, hint: Any, where: str) -> Any:
    """Return ``value`` converted to ``hint`` (lists -> tuples, ints -> floats) or raise CardError."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in typing.get_args(hint):
            if option is type(None):
                if value is None:
                    return None
                continue
            try:
                return _check(value, option, where)
            except CardError as error:
                errors.append(error)
        raise errors[0] if errors else CardError(f"{where}: unexpected value {value!r}")
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise CardError(f"{where}: {value!r} is not one of {', '.join(map(repr, allowed))}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise CardError(f"{where}: expected a list, got {type(value).__name__}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_check(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise CardError(f"{where}: expected a table, got {type(value).__name__}")
        return dict(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CardError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):  # TOML has nan and inf; no card value means either
            raise CardError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise CardError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint in (str, bool):
        if not isinstance(value, hint):
            raise CardError(f"{where}: expected {hint.__name__}, got {value!r}")
        return value
    raise CardError(f"{where}: unsupported type {hint}")  # a programming error in spec.py


def _section(cls: type, table: Any, where: str) -> Any:
    if not isinstance(table, dict):
        raise CardError(f"{where}: expected a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in table.items():
        if key not in known:
            raise CardError(f"{where}.{key}: unknown key{suggest(key, sorted(known))}")
        kwargs[key] = _check(value, hints[key], f"{where}.{key}")
    try:
        return cls(**kwargs)
    except TypeError as error:  # a required key is missing
        raise CardError(f"{where}: {error}") from None
    except CardError as error:
        raise CardError(f"{where}: {error}") from None


def parse_card(data: dict[str, Any], source: str) -> ModelCard:
    for key in data:
        if key not in _TOP_LEVEL and key not in _SECTIONS:
            raise CardError(
                f"{source}: {key}: unknown key{suggest(key, sorted(_TOP_LEVEL | set(_SECTIONS)))}"
            )
    for key in ("name", "task", "architecture", "input"):
        if key not in data:
            raise CardError(f"{source}: missing required key {key!r}")
    sections = {key: _section(cls, data.get(key, {}), f"{source}: {key}") for key, cls in _SECTIONS.items()}
    try:
        return ModelCard(
            name=_check(data["name"], str, f"{source}: name"),
            description=_check(data.get("description", ""), str, f"{source}: description"),
            task=_check(data["task"], typing.Literal["classification", "features"], f"{source}: task"),
            path=source,
            **sections,
        )
    except CardError as error:
        if str(error).startswith(source):
            raise
        raise CardError(f"{source}: {error}") from None


def load_card_file(path: Path) -> ModelCard:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise CardError(f"{path}: no such model card") from None
    except tomllib.TOMLDecodeError as error:
        raise CardError(f"{path}: not valid TOML: {error}") from None
    card = parse_card(data, str(path))
    if card.name != path.stem:
        raise CardError(f"{path}: name {card.name!r} must match the file name {path.stem!r}")
    return card


def card_files() -> dict[str, Path]:
    """Every card by name: the project's ``models/`` first, then the built-in ones (defaults.card_dirs)."""
    found: dict[str, Path] = {}
    for folder in defaults.card_dirs():
        for path in sorted(folder.glob("*.toml")):
            found.setdefault(path.stem, path)
    return dict(sorted(found.items()))


def card_names() -> list[str]:
    return list(card_files())


def get_card(name: str) -> ModelCard:
    """A card by name (``mobilenetv3_small``) or by path to a .toml file."""
    if name.endswith(".toml"):
        return _load(Path(name).resolve())
    path = card_files().get(name)
    if path is None:
        raise UnknownNameError(f"no model card {name!r}{suggest(name, card_names())}")
    return _load(path.resolve())


@cache
def _load(path: Path) -> ModelCard:
    return load_card_file(path)


def root_of(card: ModelCard) -> Path:
    """The folder a card's relative paths are relative to (defaults.card_root)."""
    return defaults.card_root(Path(card.path))


def all_cards() -> list[ModelCard]:
    return [get_card(name) for name in card_names()]
