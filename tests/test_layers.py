"""The layering holds, following every import to its end (an import inside a function counts, and
so does importing a module through another one): ``flows/`` (the pure domain) reaches nothing in
``bot`` or ``storage``; ``storage/`` nothing in ``bot`` or ``flows``; every module of ``bot/`` that
is not named below (the Telegram and web adapters, the terminal, and anything added later) reaches
storage only through the service (``bot/service.py``) or the composition root (``bot/wiring.py``);
and nothing that ships reaches the test kit, the tests or the benchmark (``testkit/``, ``tests/``,
``bench/``), which are not in the wheel."""

from __future__ import annotations

import ast
from collections.abc import Collection
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "flows", "storage")
# Never shipped: the walk follows imports into them too, so a shipped module reaching one is seen.
NOT_SHIPPED = ("testkit", "tests", "bench")
# The only doors from an adapter to storage: an import path that reaches one of them is allowed.
DOORS = {"bot.service", "bot.wiring"}
# The modules of bot/ that may name storage themselves, and why. A module that imports one of
# these (other than through a door) is breaching the layers as surely as if it named storage.
NAMES_STORAGE = {
    "bot.service": "the one door: the adapters reach storage's names through it",
    "bot.wiring": "the composition root: opens the store",
    "bot.cli": "the command line: a store that cannot be reached is one line, not a traceback",
    "bot.commands.channels": "the terminal's throwaway chat key; its store opens behind the first screen",
    "bot.commands.operations": "backup works on the database itself",
    "bot.__main__": "runs the command line",
    "bot.stats": "reads the anonymous counters for the service (CheckService.stats)",
    "bot.checks": "the check's transactions, behind the service (CheckService extends Checks)",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(p): p for package in PACKAGES + NOT_SHIPPED for p in sorted((ROOT / package).rglob("*.py"))
}


@cache
def imports_of(name: str) -> frozenset[str]:
    """Our modules that importing ``name`` runs directly: every package on the way counts
    (``bot.web.routes`` runs ``bot/__init__`` and ``bot/web/__init__``), relative imports are
    resolved, and ``from package import module`` names the module."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    named: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            named |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                base = f"{anchor}.{base}".rstrip(".")
            named.add(base)
            named |= {f"{base}.{alias.name}" for alias in node.names}
    found: set[str] = set()
    for dotted in named:
        parts = dotted.split(".")
        found |= {p for i in range(1, len(parts) + 1) if (p := ".".join(parts[:i])) in MODULES}
    return frozenset(found - {name})


def paths_into(start: str, forbidden: tuple[str, ...], doors: Collection[str] = ()) -> list[str]:
    """Every import chain from ``start`` that ends in a forbidden package without passing a door."""
    breaches: list[str] = []
    seen = {start}
    stack = [[start]]
    while stack:
        chain = stack.pop()
        for nxt in sorted(imports_of(chain[-1])):
            if nxt in seen or nxt in doors:
                continue
            seen.add(nxt)
            if nxt.split(".")[0] in forbidden:
                breaches.append(" -> ".join([*chain, nxt]))
            else:
                stack.append([*chain, nxt])
    return breaches


ADAPTERS = sorted(m for m in MODULES if m.split(".")[0] == "bot" and m not in NAMES_STORAGE)


def test_the_walk_sees_imports_through_other_modules() -> None:
    # The test would pass on nothing if the walk found nothing: it sees what we know is there.
    assert "bot.service" in imports_of("bot.telegram.handlers")
    assert "bot.telegram.guards" in imports_of("bot.telegram.handlers")
    assert paths_into("bot.cli", ("storage",))  # the command line does name storage
    assert paths_into("bot.telegram.app", ("storage",)), "through the service, storage is reached"
    assert {"bot.console", "bot.telegram.handlers", "bot.web.routes"} <= set(ADAPTERS)
    every_adapter = {m for m in MODULES if m.startswith(("bot.telegram.", "bot.web."))} | {"bot.console"}
    assert len(every_adapter) > 3 and every_adapter <= set(ADAPTERS), every_adapter - set(ADAPTERS)
    assert paths_into("bench.load", ("testkit",)), "the benchmark does use the test kit"


@pytest.mark.parametrize("layer, forbidden", [("flows", ("bot", "storage")), ("storage", ("bot", "flows"))])
def test_the_lower_layers_reach_nothing_above_them(layer: str, forbidden: tuple[str, ...]) -> None:
    modules = [m for m in MODULES if m.split(".")[0] == layer]
    assert modules, layer
    breaches = [chain for m in modules for chain in paths_into(m, forbidden)]
    assert breaches == [], f"{layer} reaches across its layer: {breaches}"


@pytest.mark.parametrize("module", ADAPTERS)
def test_each_adapter_reaches_storage_only_through_the_service(module: str) -> None:
    breaches = paths_into(module, ("storage",), DOORS)
    assert breaches == [], f"{module} reaches storage around the service: {breaches}"


@pytest.mark.parametrize("layer", PACKAGES)
def test_nothing_that_ships_reaches_the_test_kit_the_tests_or_the_benchmark(layer: str) -> None:
    modules = [m for m in MODULES if m.split(".")[0] == layer]
    assert modules, layer
    breaches = [chain for m in modules for chain in paths_into(m, NOT_SHIPPED)]
    assert breaches == [], f"{layer} reaches code that is not shipped: {breaches}"
