"""The house's walls, read from the source (AST): no import circle, no import across a wall, no use of
another module's private names. Lazy imports inside functions count; ``if TYPE_CHECKING:`` ones do not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "edgeexport"
CORE = {"errors", "registry", "spec", "artifact", "parity", "cards", "images"}
DEVICE = ("runtimes", "bench")
# part -> parts it must never import (a part is the first name below edgeexport: zoo, export, ...)
WALLS = {
    **{device: {"zoo", "export", "quant", "data", "cards", "spec", "cli", "report"} for device in DEVICE},
    "report": {"zoo", "export", "quant", "data", "cli"},
    "zoo": {"export", "quant", "cli", "bench"},
    "data": {"zoo", "export", "quant", "cli", "bench", "runtimes"},
    "quant": {"export", "cli", "bench"},
    "export": {"cli", "bench"},
    **{core: {"zoo", "export", "quant", "data", "cli", "bench", "runtimes"} - {core} for core in CORE},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name | ast.Attribute) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path, known: set[str]) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every runtime import of ``path``."""
    found: list[tuple[str, list[str]]] = []
    tree = ast.parse(path.read_text())
    skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and _is_type_checking(node)
            for n in ast.walk(node)}  # fmt: skip
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.startswith("edgeexport")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edgeexport"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((sub, []) if sub in known else (node.module, [alias.name]))
        elif isinstance(node, ast.Call) and ast.unparse(node.func).endswith("import_module") and node.args:
            arg = node.args[0]
            text = arg.value if isinstance(arg, ast.Constant) else ast.unparse(arg)
            if isinstance(text, str) and "edgeexport." in text:
                found.append((text.strip("f'\"").split("{")[0].rstrip("."), []))
    return found


def graph() -> dict[str, list[tuple[str, list[str]]]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: imports(path, set(files)) for name, path in files.items()}


def part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


def crossings(edges: dict[str, list[tuple[str, list[str]]]]) -> list[str]:
    bad = []
    for src, targets in edges.items():
        for dst, _ in targets:
            if part(dst) in WALLS.get(part(src), set()):
                bad.append(f"{src} imports {dst}")
    return sorted(set(bad))


def circles(edges: dict[str, list[tuple[str, list[str]]]]) -> list[list[str]]:
    adjacency = {src: sorted({d for d, _ in ts if d in edges and d != src}) for src, ts in edges.items()}
    found, state, stack = [], dict.fromkeys(adjacency, 0), []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in adjacency[node]:
            if state[nxt] == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif state[nxt] == 0:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in adjacency:
        if state[node] == 0:
            visit(node)
    return found


def private_uses(edges: dict[str, list[tuple[str, list[str]]]]) -> list[str]:
    return sorted(
        f"{src} takes {dst}.{name}"
        for src, targets in edges.items()
        for dst, names in targets
        for name in names
        if name.startswith("_") and not name.startswith("__") and dst != src
    )


def test_no_import_circle() -> None:
    assert circles(graph()) == []


def test_no_import_across_a_wall() -> None:
    assert crossings(graph()) == []


def test_no_private_name_taken_from_another_module() -> None:
    assert private_uses(graph()) == []


@pytest.mark.parametrize(
    ("edges", "check"),
    [
        (
            {"edgeexport.runtimes.x": [("edgeexport.zoo.builder", [])], "edgeexport.zoo.builder": []},
            crossings,
        ),
        ({"edgeexport.a": [("edgeexport.b", [])], "edgeexport.b": [("edgeexport.a", [])]}, circles),
        ({"edgeexport.a": [("edgeexport.b", ["_hidden"])], "edgeexport.b": []}, private_uses),
    ],
    ids=["wall", "circle", "private"],
)
def test_each_check_fails_when_its_rule_is_broken(edges: dict, check: object) -> None:
    assert check(edges)  # type: ignore[operator]


def _sizes() -> list[str]:
    too_big = []
    for root in ("edgeexport", "scripts", "benchmarks"):
        for path in sorted((PACKAGE.parent / root).rglob("*.py")):
            source = path.read_text()
            if len(source.splitlines()) > 400:
                too_big.append(f"{path.name}: {len(source.splitlines())} lines (> 400: make it two files)")
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = (node.end_lineno or node.lineno) - node.lineno + 1
                    if length > 80:
                        too_big.append(f"{path.name}:{node.name}: {length} lines (> 80)")
    return too_big


def test_no_module_over_400_lines_and_no_function_over_80() -> None:
    assert _sizes() == []
