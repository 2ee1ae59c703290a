"""The wording of the screens that are not a step or an outcome: the welcome, help, privacy and
about pages, the buttons, the summary, the lookups, and the web page's frame."""

from __future__ import annotations

from pydantic import Field

from flows.schema.fields import Code, Label, Strict, Text


class MultiControls(Strict):
    none: Label
    unsure: Label
    done: Label
    back: Label
    picked_mark: Text


class Block(Strict):
    title: Text
    lines: list[Text] = Field(min_length=1)


class SummaryWording(Strict):
    title: Text
    lead: Text
    age_label: Text
    level_label: Text
    indicators_label: Text
    factors_label: Text
    unsure_label: Text
    nothing: Text
    separator: str = "; "


class WhatIs(Block):
    forms: list[Text] = Field(min_length=1)


class Lookups(Strict):
    whatis: WhatIs
    online: Block
    response: Block
    tools: Block


class WebTexts(Strict):
    """Wording only the web page needs (its frame around the same screens)."""

    call_999: Label
    skip_link: Text
    nav_label: Text
    nav: dict[Code, Label] = Field(min_length=1)
    phase_tag: Label
    phase_text: Text
    report_problem: Label
    error_title: Text
    error_prefix: Label
    none_with_ticks: Text
    or_separator: Label
    warning: Label
    copy_button: Label
    copied: Text
    print_button: Label
    print_hint: Text
    clear_start: Label
    notice_title: Text
    bad_request_title: Text
    bad_request: Text
    not_found: Text
    as_of: Text
    quick_reference: Label
    privacy: list[Text] = Field(min_length=1)


class AboutTexts(Strict):
    """The "About this check" page beyond its opening lines (``texts.about``). Lines in braces
    are filled in from the content file: ``{version}``, ``{date}`` (of the version), ``{role}``,
    ``{approved_on}``, ``{owner}``, ``{due}``, ``{reviewed}``."""

    audience_title: Text
    audience: list[Text] = Field(min_length=1)
    not_title: Text
    not_lines: list[Text] = Field(min_length=1)
    device_title: Text
    device: list[Text] = Field(min_length=1)
    owner_title: Text
    version: Text
    approved: Text
    draft: Text
    review: Text
    owner: Text
    changes_title: Text
    report_title: Text
    report: list[Text] = Field(min_length=1)
    sources_title: Text


class WhoNow(Strict):
    """Who to call now when the designated person cannot be reached, by the route at that time:
    the social work office is open, the out-of-hours service answers, or neither (a gap in
    cover, when only the police answer). Used in advice as ``{who_now}``."""

    office: Text
    out_of_hours: Text
    gap: Text

    def at(self, route: str) -> str:
        text: str = getattr(self, route)
        return text


class Texts(Strict):
    """Wording of every screen that is not a step or an outcome."""

    who_now: WhoNow
    who_now_adult: WhoNow
    welcome_title: Text
    welcome: list[Text] = Field(min_length=1)
    start_button: Label
    emergency_button: Label
    new_check_button: Label
    clear_button: Label
    feedback_button: Label
    feedback_title: Text
    feedback_thanks: Text
    continue_button: Label
    emergency_title: Text
    emergency_lines: list[Text] = Field(min_length=1)
    contacts_title: Text
    todo_title: Text
    adult_title: Text
    reference_away: Text
    reference_away_adult: Text
    why_title: Text
    ooh_title: Text
    next_tool_title: Text
    cancelled_title: Text
    cancelled: Text
    stale: Text
    invalid_button: Text
    typed: Text
    private_only: Text
    unavailable: Text
    failure: Text
    forgotten: Text
    example_contacts: Text
    indicators_title: Text
    indicators_intro: Text
    strong_title: Text
    other_title: Text
    vulnerabilities_title: Text
    vulnerabilities_intro: Text
    vulnerabilities_asked_as: Text
    help_title: Text
    help: list[Text] = Field(min_length=1)
    privacy_title: Text
    privacy: list[Text] = Field(min_length=1)
    privacy_telegram: list[Text] = Field(default_factory=list)
    about_title: Text
    about: list[Text] = Field(min_length=1)
    about_page: AboutTexts
    # On every screen of a draft preview (cse-triage console/web --draft, or content not approved).
    draft_banner: Text
    web: WebTexts
