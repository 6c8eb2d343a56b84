"""The tree tells the architecture: no import cycles, small modules, one package per concept.

The import graph is read from the source with `ast`, so it sees every import: at module level,
inside functions and under ``if TYPE_CHECKING:`` (a type-level import is still a dependency of the
part on the whole). Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``; an import
that enters another package therefore depends on that package's ``__init__`` too, which is how a
re-exporting ``__init__`` can close a circle that no single ``import`` line shows.

Run it alone with ``pytest tests/unit/test_architecture.py``; on failure it names each cycle.
"""

from __future__ import annotations

import ast
import logging
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "handlers", "config", "emulator")
MAX_MODULE_LINES = 400


def module_files() -> dict[str, Path]:
    """Dotted module name → file, for every module of the four packages."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def is_package(modules: dict[str, Path], name: str) -> bool:
    return modules[name].name == "__init__.py"


def imported_names(modules: dict[str, Path], name: str) -> Iterator[str]:
    """The project modules that ``name`` imports, as written (before adding package inits)."""
    tree = ast.parse(modules[name].read_text(encoding="utf-8"))
    package = name if is_package(modules, name) else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in modules:
                    yield submodule
                elif base in modules:
                    yield base


def ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def with_package_inits(written: dict[str, set[str]]) -> dict[str, set[str]]:
    """Add to each import the ``__init__``s it runs: entering another package runs its
    ``__init__`` first, while the importer's own packages are already running."""
    graph: dict[str, set[str]] = {}
    for name, targets in written.items():
        own = set(ancestors(name))
        inits = {a for t in targets for a in ancestors(t) if a in written and a not in own}
        graph[name] = (targets | inits) - {name}
    return graph


def import_graph() -> dict[str, set[str]]:
    """Module → the modules whose code runs when it imports, package ``__init__``s included."""
    modules = module_files()
    return with_package_inits({name: set(imported_names(modules, name)) for name in modules})


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_checker_finds_a_cycle_through_a_package_init() -> None:
    # a → b.x runs b/__init__ → b.y → a, though no line imports a module that imports back.
    written: dict[str, set[str]] = {"a": {"b.x"}, "b": {"b.y"}, "b.x": set(), "b.y": {"a"}}
    assert cycles(with_package_inits(written)) == [["a", "b", "b.y"]]
    # Inside one package, reaching a sibling does not count the package's own __init__.
    assert cycles(with_package_inits({"b": {"b.x"}, "b.x": {"b.y"}, "b.y": set()})) == []
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_four_packages() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles:\n" + "\n".join(" → ".join(c) for c in found)


def test_the_emulator_imports_nothing_of_the_bot() -> None:
    graph = import_graph()
    leaks = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if name.startswith("emulator")
        for target in targets
        if not target.startswith("emulator")
    )
    assert leaks == []


def test_handlers_do_not_import_each_other() -> None:
    graph = import_graph()

    def plugin(name: str) -> str | None:
        parts = name.split(".")
        return parts[1] if parts[0] == "handlers" and len(parts) > 1 else None

    leaks = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        for target in targets
        if plugin(name) and plugin(target) and plugin(name) != plugin(target)
    )
    assert leaks == []


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {
        name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in module_files().items()
    }
    too_big = {name: lines for name, lines in sizes.items() if lines > MAX_MODULE_LINES}
    assert too_big == {}


@pytest.mark.parametrize("package", PACKAGES)
def test_no_family_of_prefixed_siblings_without_a_package(package: str) -> None:
    """Three or more ``<prefix>_*.py`` files in one folder are a package waiting to be made."""
    families: dict[tuple[Path, str], list[str]] = defaultdict(list)
    for path in (ROOT / package).rglob("*.py"):
        match = re.match(r"([a-z]+)_", path.stem)
        if match:
            families[(path.parent, match.group(1))].append(path.name)
    crowded = {f"{folder.relative_to(ROOT)}/{prefix}_": names for (folder, prefix), names in families.items()}
    assert {key: names for key, names in crowded.items() if len(names) >= 2} == {}


def test_every_logger_is_named_under_the_roombot_root() -> None:
    """``logging.getLogger(__name__)`` would give ``bot.…``/``emulator.…``; operators filter by
    ``roombot.`` and the package path below it."""
    bare = []
    for name, path in module_files().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "getLogger"
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "__name__"
            ):
                bare.append(f"{name}:{node.lineno}")
    assert bare == []
    import bot.dispatch
    import emulator.delivery.callbacks

    for module in (bot.dispatch, emulator.delivery.callbacks):
        loggers = [v for v in vars(module).values() if isinstance(v, logging.Logger)]
        assert [logger.name for logger in loggers] == [f"roombot.{module.__name__}"]
