"""The package keeps its layers: every module imports, and no import breaks a "must not" rule.

In the spirit of Skyfield's `design/test_import_loops.py`: every module is imported, each also on its own
in a fresh set of kizuna modules (an import circle can depend on which module is entered first), and
every `kizuna` import in the source, including those inside functions, is checked against the layer table
below. The checker is one function that the real test and the negative tests both call, so a forbidden
import added to any module fails this file.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import kizuna

PACKAGE_DIR = Path(kizuna.__file__).resolve().parent

ANALYSES = ("sda", "eo", "maritime", "ssa", "mw", "pnt")
PRESENTATION = ("cli", "demo", "plots")
PRESENTATION_LIBRARIES = ("rich", "matplotlib")


def _kizuna(*parts: Iterable[str] | str) -> frozenset[str]:
    names: set[str] = set()
    for part in parts:
        names.update([part] if isinstance(part, str) else part)
    return frozenset(f"kizuna.{name}" for name in names)


_ABOVE_ANALYSES = ("store", "share", "service", "ops")
_EVERY_LAYER = ("errors", "model", "formats", "orbit", *ANALYSES, *_ABOVE_ANALYSES, *PRESENTATION)

# The layer table of ../shared/ARCHITECTURE.md ("Layers (src/kizuna/), bottom to top"; the project's copy is
# docs/architecture.md), as the package now stands. Key: a top-level part of kizuna ("kizuna" is the root
# __init__, imported before everything else). Value: module prefixes it must not import (kizuna layers,
# and the presentation libraries where the table says "no rich or matplotlib"). Every top-level part of
# the package must have a row, so a new package has to be placed in the layers before it can land.
MUST_NOT_IMPORT: dict[str, frozenset[str]] = {
    # the root is imported first by every `import kizuna.x`: importing a layer from it is a circle
    "kizuna": _kizuna(_EVERY_LAYER),
    "__main__": frozenset(),  # `python -m kizuna`: the entry point, above everything
    "errors": _kizuna(_EVERY_LAYER) - {"kizuna.errors"},
    # records at the bottom: validation only, nothing else in kizuna but errors
    "model": _kizuna(_EVERY_LAYER) - {"kizuna.model", "kizuna.errors"} | frozenset(PRESENTATION_LIBRARIES),
    "formats": _kizuna(ANALYSES, _ABOVE_ANALYSES, PRESENTATION) | frozenset(PRESENTATION_LIBRARIES),
    "orbit": _kizuna(ANALYSES, _ABOVE_ANALYSES, PRESENTATION) | frozenset(PRESENTATION_LIBRARIES),
    **{
        analysis: _kizuna(_ABOVE_ANALYSES, PRESENTATION) | frozenset(PRESENTATION_LIBRARIES)
        for analysis in ANALYSES
    },
    "store": _kizuna(ANALYSES, "share", "service", "ops", PRESENTATION),
    "share": _kizuna(ANALYSES, "service", "ops", PRESENTATION),
    "ops": _kizuna("service", PRESENTATION),
    "service": _kizuna(PRESENTATION),
    "cli": frozenset(),
    "demo": _kizuna("cli"),
    "plots": _kizuna("cli", "demo"),
}

# Imports that break a rule today and are allowed until fixed: (importing module, imported module) -> why.
# Each entry is a TODO; the test fails when an entry no longer matches anything, so fixed ones get removed.
KNOWN_EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class ImportRef:
    module: str  # the importing module, e.g. "kizuna.sda.pc"
    target: str  # the imported module, e.g. "kizuna.orbit.geometry"
    path: str  # e.g. "kizuna/sda/pc.py"
    line: int


def read_package_sources(package_dir: Path = PACKAGE_DIR) -> dict[str, str]:
    """Every module's source, keyed by its path from the package's parent ("kizuna/sda/pc.py")."""
    return {
        path.relative_to(package_dir.parent).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(package_dir.rglob("*.py"))
    }


def module_name(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _constant_prefix(node: ast.expr) -> str | None:
    """The module named by `importlib.import_module("kizuna.x")`, or the fixed head of an f-string name."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values:
        head = node.values[0]
        if isinstance(head, ast.Constant) and isinstance(head.value, str):
            return head.value.rstrip(".") or None
    return None


@functools.cache
def _nodes(path: str, source: str) -> tuple[ast.AST, ...]:
    return tuple(ast.walk(ast.parse(source, filename=path)))


def find_imports(sources: Mapping[str, str]) -> list[ImportRef]:
    """Every import in every module, at any depth (functions, `if TYPE_CHECKING:`), made absolute."""
    known_modules = {module_name(path) for path in sources}
    refs: list[ImportRef] = []
    for path, source in sources.items():
        module = module_name(path)
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in _nodes(path, source):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base_parts = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(base_parts + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # `from kizuna.sda import pc` imports the module kizuna.sda.pc
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in known_modules else base
                    for alias in node.names
                ]
            elif (
                isinstance(node, ast.Call)
                and node.args
                and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                    or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
                )
            ):
                name = _constant_prefix(node.args[0])
                targets = [name] if name else []
            refs.extend(ImportRef(module, target, path, node.lineno) for target in dict.fromkeys(targets))
    return refs


def _matches(target: str, prefix: str) -> bool:
    return target == prefix or target.startswith(prefix + ".")


def check_layers(
    sources: Mapping[str, str],
    rules: Mapping[str, frozenset[str]] = MUST_NOT_IMPORT,
    exceptions: Mapping[tuple[str, str], str] = KNOWN_EXCEPTIONS,
) -> list[str]:
    """One line per import that breaks a rule (or per module whose layer has no row in the table)."""
    problems: list[str] = []
    for layer in sorted({layer_of(module_name(path)) for path in sources} - set(rules)):
        problems.append(f"kizuna.{layer}: no row in MUST_NOT_IMPORT; place it in the layers first")
    for ref in find_imports(sources):
        forbidden = [prefix for prefix in rules.get(layer_of(ref.module), ()) if _matches(ref.target, prefix)]
        if forbidden and (ref.module, ref.target) not in exceptions:
            problems.append(
                f"{ref.path}:{ref.line}: {ref.module} imports {ref.target}"
                f" ({layer_of(ref.module)} must not import {min(forbidden)})"
            )
    return problems


def layer_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Top-level part -> the top-level parts of kizuna it imports."""
    graph: dict[str, set[str]] = {layer_of(module_name(path)): set() for path in sources}
    for ref in find_imports(sources):
        if _matches(ref.target, "kizuna"):
            source_layer, target_layer = layer_of(ref.module), layer_of(ref.target)
            if source_layer != target_layer:
                graph[source_layer].add(target_layer)
    return graph


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import circle between top-level parts (as a path that returns to its start), or None."""
    state: dict[str, str] = {}  # "open" while on the depth-first path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = "done"
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


# --- the package as it stands -----------------------------------------------------------------------


# Alembic's environment script runs inside a migration (it reads the connection Alembic hands it), so
# it is loaded by Alembic from its path, never imported; the layer rules still read its imports.
RUN_BY_ALEMBIC = frozenset({"kizuna.store.migrations.env"})


def _walk_module_names() -> list[str]:
    def fail(name: str) -> None:
        raise ImportError(f"cannot import {name} while walking the package")

    walked = pkgutil.walk_packages(kizuna.__path__, "kizuna.", onerror=fail)
    return sorted(m.name for m in walked if m.name not in RUN_BY_ALEMBIC)


def test_every_module_imports() -> None:
    names = _walk_module_names()
    for name in names:
        importlib.import_module(name)
    # the checker reads exactly the modules that exist, so none escapes the layer rules
    assert set(names) | {"kizuna"} | RUN_BY_ALEMBIC == {module_name(path) for path in read_package_sources()}


_IMPORT_EACH_ALONE = textwrap.dedent(
    """
    import importlib, sys, traceback
    failed = 0
    for name in sys.argv[1:]:
        for loaded in [m for m in sys.modules if m == "kizuna" or m.startswith("kizuna.")]:
            del sys.modules[loaded]
        try:
            importlib.import_module(name)
        except Exception:
            failed += 1
            print(f"--- import {name} (first kizuna module imported):")
            traceback.print_exc(file=sys.stdout)
    sys.exit(1 if failed else 0)
    """
)


def test_every_module_imports_first() -> None:
    """Each module imported first, with no kizuna module loaded yet: an import circle shows up here.

    Third-party libraries stay loaded between modules (they cannot take part in a kizuna circle), which
    keeps this to seconds instead of a fresh interpreter per module.
    """
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_ALONE, *_walk_module_names()],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_import_breaks_the_layers() -> None:
    problems = check_layers(read_package_sources())
    assert not problems, "imports that break ARCHITECTURE.md's layers:\n" + "\n".join(problems)


def test_known_exceptions_still_apply() -> None:
    """A fixed exception leaves the table, so it cannot silently allow the import again."""
    refs = {(ref.module, ref.target) for ref in find_imports(read_package_sources())}
    assert not set(KNOWN_EXCEPTIONS) - refs


def test_top_level_parts_form_no_circle() -> None:
    assert find_cycle(layer_graph(read_package_sources())) is None


# --- the checker catches what it must ---------------------------------------------------------------


def _with(path: str, source: str) -> dict[str, str]:
    sources = read_package_sources()
    sources[path] = textwrap.dedent(source)
    return sources


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        (
            "kizuna/sda/bad.py",
            "from kizuna.store import CatalogStore\n",
            "kizuna/sda/bad.py:1: kizuna.sda.bad imports kizuna.store (sda must not import kizuna.store)",
        ),
        (  # inside a function, relative, naming a submodule
            "kizuna/eo/bad.py",
            "def plot():\n    from ..plots import eo\n",
            "kizuna/eo/bad.py:2: kizuna.eo.bad imports kizuna.plots.eo (eo must not import kizuna.plots)",
        ),
        (
            "kizuna/maritime/bad.py",
            "import matplotlib.pyplot as plt\n",
            "kizuna/maritime/bad.py:1: kizuna.maritime.bad imports matplotlib.pyplot"
            " (maritime must not import matplotlib)",
        ),
        (  # pnt is an analysis: pure functions, no presentation
            "kizuna/pnt/bad.py",
            "from kizuna.plots.pnt import plot_grid_map\n",
            "kizuna/pnt/bad.py:1: kizuna.pnt.bad imports kizuna.plots.pnt (pnt must not import kizuna.plots)",
        ),
        (
            "kizuna/model/bad.py",
            "from kizuna.orbit.timescale import iso_utc\n",
            "kizuna/model/bad.py:1: kizuna.model.bad imports kizuna.orbit.timescale"
            " (model must not import kizuna.orbit)",
        ),
        (
            "kizuna/formats/bad.py",
            "import importlib\nmod = importlib.import_module('kizuna.sda.pc')\n",
            "kizuna/formats/bad.py:2: kizuna.formats.bad imports kizuna.sda.pc (formats must not import kizuna.sda)",
        ),
        (
            "kizuna/share/bad.py",
            "from kizuna import service\n",
            "kizuna/share/bad.py:1: kizuna.share.bad imports kizuna.service (share must not import kizuna.service)",
        ),
        (
            "kizuna/plots/bad.py",
            "from kizuna.demo.sharing import run_demo\n",
            "kizuna/plots/bad.py:1: kizuna.plots.bad imports kizuna.demo.sharing (plots must not import kizuna.demo)",
        ),
        (
            "kizuna/newthing/__init__.py",
            "",
            "kizuna.newthing: no row in MUST_NOT_IMPORT; place it in the layers first",
        ),
    ],
)
def test_checker_reports_a_forbidden_import(path: str, source: str, expected: str) -> None:
    assert check_layers(_with(path, source)) == [expected]


def test_checker_reports_an_import_circle() -> None:
    # store imports formats (the ingest reader); formats importing store closes a circle
    sources = _with("kizuna/formats/bad.py", "from kizuna.store.catalog import CatalogStore\n")
    cycle = find_cycle(layer_graph(sources))
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"formats", "store"} <= set(cycle)


def test_fresh_import_reports_a_circle(tmp_path: Path) -> None:
    """The import-first check fails on a real circle (a package of two modules importing each other)."""
    for name, other in (("a", "b"), ("b", "a")):
        (tmp_path / "kizuna" / "x").mkdir(parents=True, exist_ok=True)
        (tmp_path / "kizuna" / "x" / f"{name}.py").write_text(
            f"from kizuna.x.{other} import VALUE_{other.upper()}\nVALUE_{name.upper()} = 1\n"
        )
    (tmp_path / "kizuna" / "__init__.py").write_text("")
    (tmp_path / "kizuna" / "x" / "__init__.py").write_text("")
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH_ALONE, "kizuna.x.a"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert result.returncode == 1
    assert "partially initialized module" in result.stdout


def test_one_version_source() -> None:
    """The version lives in pyproject.toml alone; the package reads it from there (installed or not)."""
    import tomllib

    pyproject = tomllib.loads((PACKAGE_DIR.parents[1] / "pyproject.toml").read_text(encoding="utf-8"))
    assert kizuna.__version__ == pyproject["project"]["version"]
    for path, source in read_package_sources().items():
        assert '__version__ = "' not in source and "__version__ = '" not in source, path
