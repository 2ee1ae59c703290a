"""The layering holds: ``flows/`` (the pure domain) imports nothing from ``bot`` or ``storage``;
``storage/`` nothing from ``bot`` or ``flows``; the Telegram adapter reaches storage only through
the service (``bot/wiring.py`` and the command line compose the parts and may name them all).
Every import counts, including those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES = {
    "flows": {"bot", "storage"},
    "storage": {"bot", "flows"},
    "bot/telegram": {"storage"},
    "bot/web": {"storage"},
}


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module is not None and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("folder", sorted(RULES))
def test_each_layer_imports_only_what_it_may(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, folder
    crossing = {
        str(f.relative_to(ROOT)): sorted(imported_packages(f) & RULES[folder])
        for f in files
        if imported_packages(f) & RULES[folder]
    }
    assert crossing == {}, f"{folder} imports across its layer: {crossing}"
