"""How big a run is: ``make test`` runs the short size of every test that has one, ``make soak``
(which sets ``CSE_SOAK=1``) the full size. :func:`scale` picks the count for the run."""

from __future__ import annotations

import os

SOAK = os.environ.get("CSE_SOAK", "") not in ("", "0")


def scale(short: int, soak: int) -> int:
    """The count for this run: ``short`` in ``make test``, ``soak`` under ``make soak``."""
    return soak if SOAK else short
