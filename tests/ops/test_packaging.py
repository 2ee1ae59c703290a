"""The wheel `make dist` builds carries every module and data file: ``[tool.setuptools]`` in
pyproject.toml lists the packages one by one, so a new folder of modules (or a data file beside
them) left out of it would be missing from an installed bot while every test here passes
(they run from the source tree). The bundle's own test (tests/ops/test_install.py) needs the
package index; this one reads the lists. What only the tests and the benchmark use (``testkit/``,
``tests/``, ``bench/``) is never in them."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def shipped_files() -> list[Path]:
    return [
        p.relative_to(ROOT)
        for top in ("bot", "flows", "storage")
        for p in sorted((ROOT / top).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]


def test_every_module_and_data_file_is_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages: set[str] = set(config["packages"])
    data: dict[str, list[str]] = config["package-data"]
    files = shipped_files()
    assert Path("flows/content/contacts.example.yaml") in files
    for rel in files:
        folder = ".".join(rel.parent.parts)
        if rel.suffix == ".py":
            assert folder in packages, f"{rel}: add '{folder}' to [tool.setuptools] packages"
            continue
        owner = max((p for p in packages if folder == p or folder.startswith(f"{p}.")), key=len)
        inside = rel.relative_to(Path(*owner.split("."))).as_posix()
        globs = data.get(owner, [])
        assert any(fnmatch(inside, g) for g in globs), f"{rel}: not in [tool.setuptools.package-data]"


def test_the_test_kit_the_tests_and_the_benchmark_are_not_in_the_wheel() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    tops = {p.split(".")[0] for p in config["packages"]} | {p.split(".")[0] for p in config["package-data"]}
    assert tops == {"bot", "flows", "storage"}, tops
