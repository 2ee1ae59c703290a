"""The building blocks every model of the content file uses: texts, codes, labels, and a model
that forbids unknown fields and never changes once loaded."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,24}$")]
# A button label: short enough to read at a glance on a phone.
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=36)]
# An item's label, two characters shorter: ticked, it carries the picked mark ("✅ ").
ItemLabel = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=34)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
