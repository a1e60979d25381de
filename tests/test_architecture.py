"""The layout's rules, read from the source with ``ast``: the store knows no stage, data flows
one way (a stage imports only the ground and the stages before it), no command imports
another, and SQL lives only in the stages' ``tables.py`` and the store."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mydiscover"
#: What every stage may stand on; it imports no stage.
GROUND = {"db", "errors", "config", "http", "workers", "paths", "files", "display", "subsonic",
          "lastfm", "collector"}  # fmt: skip
#: The stages in the data flow's order: each may import those of a lower rank only.
RANK = {"library": 1, "audio": 2, "history": 2, "cf": 3, "text": 3, "recommend": 4,
        "playlists": 5, "pipeline": 6, "doctor": 6, "serve": 7, "cli": 8, "launch": 9,
        "__main__": 10}  # fmt: skip
#: The command-line modules every command may use (the others are commands).
CLI_SHARED = {"common", "render"}


def modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), str(path))


def imported(tree: ast.Module) -> Iterator[str]:
    """Every mydiscover module a module imports, at its top or inside a function."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mydiscover":
                yield from (f"mydiscover.{alias.name}" for alias in node.names)
            elif node.module.startswith("mydiscover."):
                yield node.module
                yield from (f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("mydiscover."))


def unit_of(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def test_the_ground_imports_no_stage():
    for path, tree in modules():
        unit = unit_of(path)
        if unit not in GROUND:
            continue
        for name in imported(tree):
            other = name.split(".")[1]
            assert other in GROUND or other == "__version__", f"{path.name} imports {name}"


def test_each_stage_imports_only_the_ground_and_the_stages_before_it():
    for path, tree in modules():
        unit = unit_of(path)
        if unit not in RANK:
            continue
        for name in imported(tree):
            other = name.split(".")[1]
            if other in GROUND or other in (unit, "__version__"):
                continue
            assert other in RANK, f"{path}: unknown unit {other}"
            assert RANK[other] < RANK[unit], f"{path.relative_to(PACKAGE)} imports {name}"


def test_no_command_imports_another():
    for path, tree in modules():
        parts = path.relative_to(PACKAGE).parts
        if parts[0] != "cli" or parts[-1] == "__init__.py":
            continue
        for name in imported(tree):
            if name.startswith("mydiscover.cli."):
                module = name.split(".")[2]
                assert module in CLI_SHARED, f"cli/{parts[-1]} imports {name}"


@pytest.mark.parametrize("call", ["execute", "executemany", "executescript"])
def test_sql_is_only_in_the_tables_and_the_store(call):
    for path, tree in modules():
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "db" or relative.name == "tables.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr != call, f"{relative}:{node.lineno} runs SQL"


def test_the_rules_would_see_a_breach(tmp_path):
    """The checks read what they claim to: a store module importing a stage is caught."""
    tree = ast.parse("from mydiscover.library.tags import Tags\nimport mydiscover.cf.models\n")
    assert list(imported(tree)) == ["mydiscover.library.tags", "mydiscover.library.tags.Tags",
                                    "mydiscover.cf.models"]  # fmt: skip
