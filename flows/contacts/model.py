"""Whom to call: contact roles resolved to names and numbers for a time and a service.

The content names contact *roles* (``designated_person``, ``social_work``, ``police_999`` …).
A :class:`Directory` turns a role into lines to show, given the practitioner's service and the
time. :class:`GenericDirectory` needs no configuration: it names the roles in general terms and
carries only national numbers confirmed on public pages (listed at ``NATIONAL``). A deploying
organisation supplies its own numbers through a contacts file (``flows/contacts/file.py``, read by
``flows/contacts/directory.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class ContactLine:
    """One way to get help: who, the number to call (if any), and when or how.

    ``phone`` is the number as shown (UK format, e.g. "01324 503650"); ``tel`` is the same number
    in dialable form (E.164 such as "+441324503650", or a short code such as "999") for adapters
    that make numbers tappable. ``tel`` is None where nobody filled it in.
    """

    name: str
    phone: str | None = None
    detail: str | None = None
    tel: str | None = None


@dataclass(frozen=True)
class Route:
    """Whether it is office hours now, and the one-line basis shown to the practitioner.

    ``gap``: neither the office nor the out-of-hours service answers now (a gap in cover that the
    deployment check reports); the police non-emergency line then stands in for social work.
    """

    in_hours: bool
    basis: str
    gap: bool = False


class Directory(Protocol):
    """What the flow needs to know about contacts."""

    @property
    def services(self) -> list[tuple[str, str]]:
        """(code, button label) of each service; the check asks only when there are two or more."""

    @property
    def is_example(self) -> bool:
        """True when the numbers are examples that must not be relied on."""

    def route(self, now: dt.datetime) -> Route:
        """In hours or out of hours at ``now``."""

    def resolve(self, role: str, *, service: str | None, now: dt.datetime) -> list[ContactLine]:
        """The lines to show for a contact role."""

    def designated_now(self, service: str | None, now: dt.datetime) -> bool:
        """Whether the service's designated person can be reached at ``now`` (their own hours)."""

    def reference_lines(self) -> list[ContactLine]:
        """Every contact with its hours, whatever the time: for the printed quick reference."""

    @property
    def content_owner(self) -> ContactLine | None:
        """Whom to tell about a problem with the advice, if the deployer said so."""

    @property
    def organisation(self) -> str | None:
        """The deploying organisation, from its own contacts file (None without one)."""


# National numbers, each confirmed on a public page: 999 and 101 (National Guidance for Child
# Protection in Scotland 2021, 3.8; scotland.police.uk, child sexual abuse advice); NSPCC
# (nspcc.org.uk/what-you-can-do/report-abuse); Childline (gov.scot, Self-harm strategy and action
# plan 2023); CEOP (ceopeducation.co.uk, reporting an incident); Stop It Now
# (stopitnow.org.uk/helpline).
NATIONAL: dict[str, ContactLine] = {
    "police_999": ContactLine("Police, immediate danger", "999", "24 hours"),
    "police_101": ContactLine("Police Scotland, non-emergency", "101", "24 hours"),
    "nspcc": ContactLine("NSPCC helpline, advice for adults", "0808 800 5000", "also help@nspcc.org.uk"),
    "childline": ContactLine("Childline, for children and young people", "0800 1111", "free, 24 hours"),
    "ceop": ContactLine("CEOP, report online grooming", None, "ceop.police.uk/ceop-reporting"),
    "stop_it_now": ContactLine("Stop It Now, confidential helpline", "0808 1000 900", None),
    "sarcs": ContactLine(
        "NHS sexual assault self-referral (SARCS), age 16 or over", "0800 148 88 88", "free, 24 hours"
    ),
}


class GenericDirectory:
    """Contacts in general terms, for when no contacts file is configured."""

    services: list[tuple[str, str]] = []
    is_example = False
    content_owner = None
    organisation = None

    def route(self, now: dt.datetime) -> Route:
        weekday = now.weekday() < 5
        in_hours = weekday and 9 <= now.hour < 17
        when = "office hours" if in_hours else "out of hours"
        return Route(in_hours, f"{now:%A %H:%M}, {when} (assumed Mon to Fri, 9 to 5)")

    def designated_now(self, service: str | None, now: dt.datetime) -> bool:
        return self.route(now).in_hours

    def reference_lines(self) -> list[ContactLine]:
        return [
            NATIONAL["police_999"],
            ContactLine("Your designated person for child protection", None, "in your organisation"),
            ContactLine("Your local social work office", None, "office hours"),
            ContactLine("Emergency social work service (out of hours)", None, "evenings, weekends, holidays"),
            *(NATIONAL[r] for r in ("police_101", "sarcs", "nspcc", "childline", "ceop", "stop_it_now")),
        ]

    def resolve(self, role: str, *, service: str | None, now: dt.datetime) -> list[ContactLine]:
        if role in NATIONAL:
            return [NATIONAL[role]]
        if role == "designated_person":
            when = "in your organisation" if self.designated_now(service, now) else "when next available"
            return [ContactLine("Your designated person for child protection", None, when)]
        if role == "social_work":
            if self.route(now).in_hours:
                return [ContactLine("Your local social work office", None, "office hours")]
            return [
                ContactLine(
                    "Emergency social work service (out of hours)", None, "evenings, weekends, holidays"
                )
            ]
        raise KeyError(role)
