"""Fuzzing slash-command parsing: parse_commands.

The promises checked (the module and function docstrings): it never raises for any string; every
command's name is ``/`` then a letter or digit then letters, digits, ``-`` or ``_``; ``args`` are the
line's following words and ``line`` the stripped line; ``\\r\\n`` means what ``\\n`` means; a command
line in a top-level paragraph is found, in document order, and the same line quoted, listed, indented,
fenced, commented, inside an HTML block, escaped, in inline code or in a heading is not.
"""

from __future__ import annotations

import re

from hypothesis import example, given
from hypothesis import strategies as st

from snekomatic.gh.commands import Command, _parse_commands, is_command_name, parse_commands
from tests.fuzz._support import FUZZ, markdown_bodies, one_of_seeds

# The grammar, restated from the docstring rather than imported.
NAME = re.compile(r"/[A-Za-z0-9][A-Za-z0-9_-]*")

# The pieces Markdown is made of, so that random documents reach the parser's corners.
_MARKDOWN_PIECES = (
    "/ping",
    "/label bug urgent",
    "/merge-when-green",
    "/usr/bin/env",
    "/",
    "//",
    "\\/ping",
    "`/ping`",
    "> ",
    "- ",
    "* ",
    "1. ",
    "    ",
    "\t",
    "```",
    "~~~",
    "<!-- ",
    " -->",
    "<details>",
    "</details>",
    "<div>",
    "</div>",
    "<br/>",
    "<img src=x>",
    "<!--",
    "# ",
    "---",
    "===",
    "&#47;",
    "&amp;",
    "\\",
    "*",
    "_",
    "**",
    "[a](b)",
    "<http://x>",
    "  \n",
    "\n",
    "\r\n",
    "\r",
    "\n\n",
    " ",
    "\u00a0",
    "\u2028",
    "\x00",
    "é",
)


def _joined(pieces: list[str]) -> str:
    return "".join(pieces)


_MARKDOWN = st.one_of(
    one_of_seeds(markdown_bodies()),
    st.lists(st.sampled_from(_MARKDOWN_PIECES) | st.text(max_size=5), max_size=30).map(_joined),
    st.builds(
        lambda seed, extra, at: seed[:at] + extra + seed[at:],
        one_of_seeds(markdown_bodies()),
        st.lists(st.sampled_from(_MARKDOWN_PIECES), max_size=6).map(_joined),
        st.integers(0, 200),
    ),
    st.text(),
)


@FUZZ
@given(st.none() | _MARKDOWN)
@example("/ping\n/ping\n/ping")
@example("<details>\n\n/ping\n\n</details>\n\n/ping")
@example("/a-_b_")  # emphasis: not plain text, so not a command although the name would match
def test_every_command_keeps_the_documented_shape(markdown: str | None) -> None:
    commands = parse_commands(markdown)
    assert isinstance(commands, list)
    lines = 0 if not markdown else len(re.split(r"\r\n|\r|\n", markdown))
    assert len(commands) <= lines  # a command is a whole line
    for command in commands:
        assert isinstance(command, Command)
        assert NAME.fullmatch(command.name), command
        assert is_command_name(command.name)
        assert command.line == command.line.strip()
        assert "\n" not in command.line and "\r" not in command.line
        assert command.line.split() == [command.name, *command.args]


@FUZZ
@given(_MARKDOWN)
def test_crlf_means_lf(markdown: str) -> None:
    lf = markdown.replace("\r\n", "\n").replace("\r", "\n")
    assert parse_commands(lf.replace("\n", "\r\n")) == parse_commands(lf)


@FUZZ
@given(st.text())
def test_is_command_name_is_the_grammar(name: str) -> None:
    assert is_command_name(name) == (NAME.fullmatch(name) is not None)


# --- documents built from blocks whose commands are known ------------------------------------------

# A name whose "_" and "-" always sit between letters or digits (or end it), so no emphasis can open.
_NAMES = st.sampled_from(["/ping", "/label", "/merge-when-green", "/a_b"]) | st.from_regex(
    r"/[A-Za-z0-9](?:[A-Za-z0-9]|[-_][A-Za-z0-9]){0,8}[-_]?", fullmatch=True
)
_WORDS = st.from_regex(r"[a-z0-9][a-z0-9.,:=/-]{0,8}", fullmatch=True)
_PROSE_LINES = st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=6).map(
    " ".join
)


@st.composite
def _command_lines(draw: st.DrawFn) -> str:
    name = draw(_NAMES)
    args = draw(st.lists(_WORDS, max_size=4))
    return " ".join([name, *args])


# Each wraps a command line so that GitHub renders it as something other than a top-level
# paragraph's own line of plain text.
_HIDING = (
    "> {}",
    "- {}",
    "* {}",
    "1. {}",
    "    {}",
    "```\n{}\n```",
    "~~~\n{}\n~~~",
    "<!-- {} -->",
    "<!--\n{}\n-->",
    "<details>\n\n{}\n\n</details>",
    "<div>\n{}\n</div>",
    "\\{}",
    "`{}`",
    "# {}",
    "{}\n---",
    "{}\n===",
    "hello {}",
    "*{}*",
)


@st.composite
def _documents(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(markdown, the command lines it holds in order)."""
    blocks: list[str] = []
    expected: list[str] = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["paragraph", "hidden", "prose"]))
        if kind == "paragraph":  # prose and command lines mixed in one paragraph
            lines = []
            for _ in range(draw(st.integers(1, 4))):
                if draw(st.booleans()):
                    line = draw(_command_lines())
                    expected.append(line)
                    # Indenting a paragraph's first line could continue a list item above it
                    # (CommonMark), so only later lines, which are the paragraph's for sure.
                    indent = draw(st.sampled_from(["", " ", "  ", "      "])) if lines else ""
                    lines.append(f"{indent}{line}{draw(st.sampled_from(['', ' ', chr(9)]))}")
                else:
                    lines.append(draw(_PROSE_LINES))
            blocks.append("\n".join(lines))
        elif kind == "hidden":
            blocks.append(draw(st.sampled_from(_HIDING)).format(draw(_command_lines())))
        else:
            blocks.append(draw(_PROSE_LINES))
    return "\n\n".join(blocks), expected


@FUZZ
@given(_documents(), st.sampled_from(["\n", "\r\n"]))
@example(("<details>\n\n/ping\n\n</details>\n\n/label bug", ["/label bug"]), "\n")
@example(("- /ping\n\n/ping", ["/ping"]), "\r\n")
def test_finds_exactly_the_top_level_command_lines(
    document: tuple[str, list[str]], newline: str
) -> None:
    markdown, expected = document
    commands = parse_commands(markdown.replace("\n", newline))
    assert [c.line for c in commands] == expected


# --- the cheap pre-check ----------------------------------------------------------------------------


@FUZZ
@given(_MARKDOWN | _documents().map(lambda document: document[0]))
# Whitespace to str.strip() but not to markdown-it, then the slash as an entity or escaped: commands.
@example("\x1c&#47;ping")
@example("\x85\\/ping")
@example("hello\r\u2028/ping")  # a bare "\r" ends a line
def test_the_pre_check_never_changes_the_answer(markdown: str) -> None:
    # parse_commands skips markdown-it for a body with no line that could start a command; the
    # full parse of every body must agree with it.
    assert parse_commands(markdown) == (_parse_commands(markdown) if markdown else [])


def test_the_pre_check_agrees_on_every_real_body() -> None:
    for markdown in markdown_bodies():
        assert parse_commands(markdown) == _parse_commands(markdown), markdown[:200]
