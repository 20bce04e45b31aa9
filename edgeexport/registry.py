"""One registry type for models, stages and runtimes: duplicates fail, unknown names get a hint."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from edgeexport.errors import DuplicateNameError, UnknownNameError

T = TypeVar("T")


def suggest(name: str, choices: list[str]) -> str:
    """A ``did you mean ...?`` suffix (empty when nothing is close). Never auto-corrects."""
    close = difflib.get_close_matches(name, choices, n=3, cutoff=0.6)
    if close:
        return "; did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "; known: " + ", ".join(sorted(choices)) if choices else ""


class Registry(Generic[T]):
    """Name -> object. ``register`` raises on a duplicate; ``get`` raises with a close-match hint."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorator(obj: T) -> T:
            self.add(name, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._items:
            raise DuplicateNameError(f"a {self.kind} is already registered under the name {name!r}")
        self._items[name] = obj

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(f"no {self.kind} {name!r}{suggest(name, list(self._items))}") from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
