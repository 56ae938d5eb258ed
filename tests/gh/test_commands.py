"""snekomatic.gh.commands: which lines of a Markdown body are slash commands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snekomatic.gh.commands import Command, is_command_name, parse_commands

CASES = [
    pytest.param("/ping", ["/ping"], id="top-level"),
    pytest.param("/ping extra args", ["/ping"], id="with-args"),
    pytest.param("Thanks!\n\n/ping\n\nBye", ["/ping"], id="own-paragraph"),
    pytest.param("Thanks!\n/ping\nBye", ["/ping"], id="line-inside-paragraph"),
    pytest.param("```\n/ping\n```", [], id="in-fence"),
    pytest.param("~~~python\n/ping\n~~~", [], id="in-tilde-fence"),
    pytest.param("Look:\n\n    /ping", [], id="in-indented-code"),
    pytest.param("> /ping", [], id="in-quote"),
    pytest.param("> quoted\n/ping", [], id="lazy-quote-continuation"),
    pytest.param("- /ping", [], id="in-list"),
    pytest.param("1. /ping", [], id="in-ordered-list"),
    pytest.param("<!-- /ping -->", [], id="in-html-comment"),
    pytest.param("<!--\n/ping\n-->", [], id="in-multiline-html-comment"),
    pytest.param("<details>\n\n/ping\n\n</details>", [], id="in-html-block"),
    pytest.param("<details>\n\n/ping\n\n</details>\n\n/pong", ["/pong"], id="after-html-block"),
    pytest.param("<br>\n\n/ping", ["/ping"], id="after-void-html-element"),
    pytest.param("`/ping`", [], id="inline-code"),
    pytest.param("/ping `now`", [], id="line-with-inline-code"),
    pytest.param("/ping <b>now</b>", [], id="line-with-inline-html"),
    pytest.param("/ping *now*", [], id="line-with-emphasis"),
    pytest.param("hello /ping", [], id="mid-line"),
    pytest.param("\\/ping", [], id="escaped-slash"),
    pytest.param("# /ping", [], id="in-heading"),
    pytest.param("/ping\n---", [], id="in-setext-heading"),
    pytest.param("/usr/bin/env python", [], id="path-not-command"),
    pytest.param("/", [], id="bare-slash"),
    pytest.param("/ping\n/label bug\n\n/pong", ["/ping", "/label", "/pong"], id="several-commands"),
    pytest.param("/ping  \n/pong", ["/ping", "/pong"], id="hard-break"),
    pytest.param("/ping\r\n/pong\r\n", ["/ping", "/pong"], id="crlf"),
    pytest.param("   /ping   ", ["/ping"], id="surrounding-spaces"),
    pytest.param("", [], id="empty-body"),
    pytest.param(None, [], id="none-body"),
]


@pytest.mark.parametrize(("body", "names"), CASES)
def test_parse_commands_finds_only_top_level_plain_lines(
    body: str | None, names: list[str]
) -> None:
    assert [command.name for command in parse_commands(body)] == names


def test_command_carries_args_and_stripped_line() -> None:
    assert parse_commands("  /label bug   urgent ") == [
        Command(name="/label", args=("bug", "urgent"), line="/label bug   urgent")
    ]


def test_entities_in_args_are_decoded() -> None:
    assert parse_commands("/say a &amp; b")[0].args == ("a", "&", "b")


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        pytest.param("/ping", True, id="simple"),
        pytest.param("/merge-when_green2", True, id="dashes-underscores-digits"),
        pytest.param("ping", False, id="no-slash"),
        pytest.param("/", False, id="bare-slash"),
        pytest.param("/-x", False, id="leading-dash"),
        pytest.param("/a/b", False, id="second-slash"),
        pytest.param("/ping now", False, id="space"),
    ],
)
def test_is_command_name(name: str, valid: bool) -> None:
    assert is_command_name(name) is valid


@given(st.text())
def test_parse_commands_never_raises_and_finds_only_valid_names(body: str) -> None:
    for command in parse_commands(body):
        assert is_command_name(command.name)
        assert command.line.startswith(command.name)
