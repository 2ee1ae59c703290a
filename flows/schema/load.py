"""Reading a data file: YAML with a safe loader, every problem as a ``path.in.file: problem``
line, and the content file loaded and checked."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from flows.schema.checks import cross_check
from flows.schema.model import Content

DEFAULT_CONTENT = Path(__file__).parents[1] / "content" / "cse.yaml"
# libyaml's safe loader where PyYAML has it (ten times faster at start-up), else the pure one.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_yaml(text: str) -> Any:
    """Parse YAML with a safe loader (plain data only, never objects)."""
    return yaml.load(text, Loader=_SAFE_LOADER)  # noqa: S506 - CSafeLoader/SafeLoader are the safe ones


class DataFileError(ValueError):
    """A data file is broken. ``problems`` holds one ``path.in.file: problem`` line each."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class ContentError(DataFileError):
    """The content file is broken."""


def pydantic_problems(err: ValidationError) -> list[str]:
    """One ``path.in.file: problem`` line per pydantic error (e.g. ``steps[0].options: ...``)."""
    lines = []
    for e in err.errors(include_url=False):
        path = ""
        for part in e["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        lines.append(f"{path or '(top)'}: {e['msg'].removeprefix('Value error, ')}")
    return lines


def parse_content(data: Any, source: str = "<content>") -> Content:
    """Validate already-parsed YAML data; raise :class:`ContentError` on any problem."""
    try:
        content = Content.model_validate(data)
    except ValidationError as err:
        raise ContentError(source, pydantic_problems(err)) from None
    problems = cross_check(content)
    if problems:
        raise ContentError(source, problems)
    return content


def load_content(path: Path | str = DEFAULT_CONTENT) -> Content:
    """Load and validate a content file."""
    path = Path(path)
    try:
        data = safe_yaml(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ContentError(str(path), [f"(file): cannot read: {err}"]) from None
    return parse_content(data, str(path))
