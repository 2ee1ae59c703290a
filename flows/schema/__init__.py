"""Typed schema of the content file, and its loader.

The content file (``flows/content/cse.yaml``) holds every question, item, rule and line of
wording. It is checked twice at load: pydantic checks the shape and types (``model``, with
``condition``, ``texts`` and ``changelog``), then ``checks`` checks what pydantic cannot see (ids
that must exist, ids that must be unique, steps with a way out, outcomes with a contact). Any
problem stops the load (``load``) with a :class:`ContentError` naming the file, the path inside
it and the problem.

- ``fields``: the texts, codes and labels every model uses;
- ``condition``: the condition language (a test on the answers);
- ``model``: steps, items, rules, outcomes, situation blocks, and the whole ``Content``;
- ``texts``: the wording of the other screens;
- ``changelog``: versions, their approval, and what stops a version going live;
- ``checks``: the cross-checks;
- ``load``: reading a data file (safe YAML, problems as lines) and the content file.

The names callers use are here.
"""

from flows.schema.changelog import Change, Release, release_problems
from flows.schema.condition import Condition
from flows.schema.fields import Code, ItemLabel, Label, Text
from flows.schema.load import (
    DEFAULT_CONTENT,
    ContentError,
    DataFileError,
    load_content,
    parse_content,
    pydantic_problems,
    safe_yaml,
)
from flows.schema.model import Addendum, Content, Item, Outcome, OutcomeText, Rule, Step, Todo, Variant
from flows.schema.texts import Block, Texts

__all__ = [
    "DEFAULT_CONTENT",
    "Addendum",
    "Block",
    "Change",
    "Code",
    "Condition",
    "Content",
    "ContentError",
    "DataFileError",
    "Item",
    "ItemLabel",
    "Label",
    "Outcome",
    "OutcomeText",
    "Release",
    "Rule",
    "Step",
    "Text",
    "Texts",
    "Todo",
    "Variant",
    "load_content",
    "parse_content",
    "pydantic_problems",
    "release_problems",
    "safe_yaml",
]
