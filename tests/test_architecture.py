"""The shape of the package: who may import whom (checked on the source, not by convention)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "paretext"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[str, list[str], bool]]:
    """(module, names, type_checking_only) for every ``from``-import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            guarded.update(id(n) for b in node.body for n in ast.walk(b))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("paretext"):
                yield target, [a.name for a in node.names], id(node) in guarded
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("paretext"):
                    yield alias.name, [], id(node) in guarded


def _owner(module: str) -> str:
    """The package a module belongs to: ``paretext.engine._state`` -> ``paretext.engine``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 or (PACKAGE / parts[-1]).is_dir() else "paretext"


FILES = sorted(PACKAGE.rglob("*.py"))
#: Top-level modules that sit on top of everything (the API, the CLI and their helpers).
ENTRY_POINTS = (
    "__init__.py", "api.py", "cli.py", "demo.py", "testing.py", "_progress.py",
    "_resume.py", "_apply.py",  # the API's helpers: opening a stored run, loading a Result
)


def test_no_private_module_or_name_is_imported_from_another_package() -> None:
    """``paretext.engine._state`` is the engine's own; others use what ``paretext.engine``
    exports.  And a ``_name`` is private to its module."""
    bad = []
    for path in FILES:
        importer = _module_name(path)
        for target, names, _ in _imports(path):
            private_module = any(p.startswith("_") for p in target.split(".")[2:])
            if private_module and _owner(target) != _owner(importer):
                bad.append(f"{importer} imports {target}")
            bad += [
                f"{importer} imports {target}.{n}"
                for n in names
                if n.startswith("_") and not n.startswith("__")
            ]
    assert bad == []


def test_packages_import_each_other_without_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for path in FILES:
        src = _owner(_module_name(path))
        for target, _, type_only in _imports(path):
            dst = _owner(target)
            if not type_only and dst != src and dst != "paretext":
                graph.setdefault(src, set()).add(dst)
    # The top-level modules (records, ids, config, api, cli) are one node, imported by all;
    # what they import back is checked here too.
    top: set[str] = set()
    for path in PACKAGE.glob("*.py"):
        if path.name in ENTRY_POINTS:
            continue
        top |= {_owner(t) for t, _, type_only in _imports(path) if not type_only} - {"paretext"}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        if node in stack:
            cycles.append([*stack[stack.index(node) :], node])
            return
        for nxt in sorted(graph.get(node, ())):
            visit(nxt, [*stack, node])

    for node in sorted(graph):
        visit(node, [])
    assert cycles == []
    assert top <= {"paretext.lm", "paretext.program", "paretext.metric"}, top


MISUSE = """
import paretext as pt

def program(candidate: dict[str, str], example: dict[str, str]) -> str:
    return "x"

pt.optimize({"system": "s"}, program, program, [], reflection_lm="openai/x", seed_value=0)
pt.search({"system": "s"}, program, program, [], reflection_lm="openai/x", budget=[1])
r: int = pt.optimize({"system": "s"}, program, program, [], reflection_lm="openai/x")
"""


@pytest.mark.slow
def test_the_sync_twins_are_typed(tmp_path: Path) -> None:
    snippet = tmp_path / "misuse.py"
    snippet.write_text(textwrap.dedent(MISUSE))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--strict", str(snippet)],
        capture_output=True, text=True, cwd=tmp_path, env={"MYPYPATH": str(SRC), "PATH": ""},
    )
    out = done.stdout
    assert 'misuse.py:7: error: Unexpected keyword argument "seed_value"' in out, out
    assert 'misuse.py:8: error: Argument "budget" has incompatible type "list[int]"' in out, out
    assert 'misuse.py:9: error: Incompatible types in assignment (expression has type "Result"' in (
        out
    ), out
    assert out.count("error:") == 3, out
