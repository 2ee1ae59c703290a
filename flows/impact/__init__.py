"""What a content change does to every answer a practitioner can give, before it goes live.

``cse-triage impact OLD NEW`` compares two content files over the whole answer space, not a
sample. The answer space is far too big to list (every subset of 30-odd items, times the
choices), so it is cut into *equivalence classes* the rules cannot tell apart, derived from the
conditions of both files and the items' properties:

- **items**: two items that play the same role in every condition of both files (for example
  two indicators that are neither significant nor named by any condition) are interchangeable;
  within such a class only how many are ticked matters, and only up to the largest count any
  condition asks for (``indicators_at_least``), else only none or some;
- **"Not sure"**: two sets of steps answered "Not sure" are the same when every ``unsure_any``
  condition holds for both or for neither;
- **single choices**: two options of a step are the same when every condition on that step
  holds for both or neither and they lead to the same place (``goto``); a step is branched on
  only where one of the files can ask it after the earlier answers (a follow-up question such
  as when an assault happened is walked only with the tick that asks it);
- **situation blocks** that only explain (no action, no contact) change nothing compared here,
  so they split no class.

The sets of ticks are built class by class (what every item condition makes of the ticks so far:
"is one ticked", or a count up to its cap), keeping apart the items whose meaning depends on other
answers (asked only at some ages, serious only with a follow-up answer).

Each class is realised as one representative answer, walked through each file's steps (so a
step one file skips is skipped), and its outcome compared: the level, the first step of "What to
do now" and the contact roles shown, in office hours, out of hours and in a gap in social work
cover (moments from the contacts file). The service is the contacts file's first one: no
condition reads it, and its contacts are the same file on both sides.

The number of classes grows with every item that plays a role of its own; past ``BUDGET``
combinations walked ``impact`` says so instead of running for hours (``--budget`` raises it).
Content 2.1.0 against itself: 88,501 classes, about 30 s of CPU on the reference machine
(`cse-triage impact flows/content/cse.yaml flows/content/cse.yaml`).

The modules: ``kinds`` (how each kind of condition reads the answers), ``classes`` (the
equivalence classes), ``space`` (the walk: one answer per class, realised in each file's flow),
``compare`` (what each class is shown under each file, and the cases that move), ``report``
(Markdown or HTML).

A new kind of condition in ``flows/schema/condition.py`` needs one line in ``kinds``: how an
item plays a role in it (``ITEM_ROLES``), or what counts it (``COUNTS``), or which step answers
it reads (``STEP_KINDS``, ``UNSURE_KINDS``). An unknown kind stops ``impact`` with a message
naming it.
"""

from flows.impact.compare import Change, Impact, Outcomes, Shown, compare
from flows.impact.kinds import ImpactError
from flows.impact.report import report
from flows.impact.space import BUDGET, Answer, answer_space

__all__ = [
    "BUDGET",
    "Answer",
    "Change",
    "Impact",
    "ImpactError",
    "Outcomes",
    "Shown",
    "answer_space",
    "compare",
    "report",
]
