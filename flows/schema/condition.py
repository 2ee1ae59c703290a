"""The condition language: a test on the answers (a step's choice, ticked items, counts, "Not
sure", a named condition, or all/any of other conditions), used by rules, situation blocks,
variants and when a step or an item is asked."""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import ConfigDict, Field, model_validator

from flows.schema.fields import Code, Strict


class Condition(Strict):
    """A test on the answers. Exactly one kind of test per condition."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    step: Code | None = None
    any_of: list[Code] | None = None
    is_: Code | None = Field(default=None, alias="is")
    any_indicator: bool | None = None
    any_factor: bool | None = None
    items_any: list[Code] | None = None
    unsure_any: list[Code] | None = None
    any_strong: bool | None = None
    indicators_at_least: int | None = Field(default=None, ge=1)
    specific_at_least: int | None = Field(default=None, ge=1)
    all: list[Condition] | None = None
    any: list[Condition] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Condition:
        kinds = [
            self.step is not None or self.any_of is not None,
            self.is_ is not None,
            self.any_indicator is not None,
            self.any_factor is not None,
            self.items_any is not None,
            self.unsure_any is not None,
            self.any_strong is not None,
            self.indicators_at_least is not None,
            self.specific_at_least is not None,
            self.all is not None,
            self.any is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("a condition needs exactly one kind of test")
        if (self.step is None) != (self.any_of is None):
            raise ValueError("'step' and 'any_of' go together")
        return self


def conditions_in(cond: Condition, path: str) -> Iterator[tuple[Condition, str]]:
    """``cond`` and every condition nested in it (``all``, ``any``), each with its path."""
    yield cond, path
    for key in ("all", "any"):
        for i, sub in enumerate(getattr(cond, key) or []):
            yield from conditions_in(sub, f"{path}.{key}[{i}]")
