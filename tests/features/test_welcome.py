"""The welcome comment's text: the default's content, placeholders, and configured templates."""

from __future__ import annotations

import pytest

from snekomatic.features.welcome import (
    DEFAULT_SOURCE_URL,
    DEFAULT_WELCOME_TEMPLATE,
    FeatureOptions,
    render_welcome,
    template_problems,
)


def render(template: str, **overrides: str) -> str:
    values = {
        "login": "zeke",
        "org": "octo-org",
        "pr_url": "https://github.com/octo-org/widget/pull/7",
        "people_url": "https://github.com/orgs/octo-org/people",
        "source_url": "https://example.test/bot",
    }
    values.update(overrides)
    return render_welcome(template, **values)


def test_default_message_mentions_the_contributor_and_the_organization() -> None:
    text = render(DEFAULT_WELCOME_TEMPLATE)
    assert "@zeke" in text
    assert "**octo-org**" in text


@pytest.mark.parametrize(
    "phrase",
    [
        "Thank you",
        "notifications",
        "triage issues",
        "review and merge",
        "*Member* badge",
        "(https://github.com/orgs/octo-org/people)",
        "make it public",
        "decline or ignore the invitation",
        "expires",
        "send you a new one",
        "[humble Python script](https://example.test/bot)",
    ],
    ids=[
        "thanks",
        "notifications",
        "triage",
        "review-merge",
        "badge",
        "public-listing",
        "making-membership-public",
        "no-pressure",
        "expiry",
        "re-invite",
        "humble-script-link",
    ],
)
def test_default_message_keeps_the_spirit_of_the_original(phrase: str) -> None:
    assert phrase in render(DEFAULT_WELCOME_TEMPLATE)


def test_default_message_names_no_particular_organization() -> None:
    text = render(DEFAULT_WELCOME_TEMPLATE, source_url="https://example.test/bot")
    assert "trio" not in text.lower()


def test_default_options_link_to_snekomatics_source() -> None:
    options = FeatureOptions()
    assert options.source_url == DEFAULT_SOURCE_URL == "https://github.com/python-trio/snekomatic"
    assert options.welcome_template == DEFAULT_WELCOME_TEMPLATE


def test_configured_template_overrides_the_default() -> None:
    options = FeatureOptions(invite_message="Welcome @{login} to {org}!")
    assert render(options.welcome_template) == "Welcome @zeke to octo-org!"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{login} {org} {nope}", "zeke octo-org {nope}"),
        ("{login} {org} {{login}}", "zeke octo-org {zeke}"),
        ("{login} {org} `{}` {0} {", "zeke octo-org `{}` {0} {"),
        ("{login} {org} {pr_url}", "zeke octo-org https://github.com/octo-org/widget/pull/7"),
    ],
    ids=["unknown-placeholder", "doubled-braces", "stray-braces", "pr-url"],
)
def test_only_known_placeholders_are_replaced(template: str, expected: str) -> None:
    assert render(template) == expected


def test_values_are_inserted_once_not_expanded_again() -> None:
    assert render("{login} {org}", login="{org}") == "{org} octo-org"


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("", "the template is empty"),
        ("   \n", "the template is empty"),
        ("Hi {org}", "no {login} placeholder"),
        ("Hi @{login}", "no {org} placeholder"),
    ],
    ids=["empty", "blank", "no-login", "no-org"],
)
def test_unusable_templates_are_refused_at_start_up(template: str, problem: str) -> None:
    assert any(problem in p for p in template_problems(template))
    with pytest.raises(ValueError, match="invite message"):
        FeatureOptions(invite_message=template)


def test_the_default_template_has_no_problems() -> None:
    assert template_problems(DEFAULT_WELCOME_TEMPLATE) == []
