"""Slash commands in Markdown bodies: a pure parser, no I/O.

A command is a whole line of plain text, at the top level of a Markdown document, whose first word is
``/`` followed by a name: ``/ping`` or ``/label bug urgent``. Everything that GitHub renders as something
other than a top-level paragraph is ignored, so quoting, fencing or listing a command never triggers it::

    /ping                 a command
    hello /ping           not a command: it does not start the line
    > /ping               not a command: block quote
    - /ping               not a command: list item
        /ping             not a command: indented code block
    ```                   not a command: fenced code block
    /ping
    ```
    <!-- /ping -->        not a command: HTML comment (or any HTML block)
    <details>             not a command: inside an HTML element opened by an HTML block, even
                          across blank lines (GitHub renders it inside the element)
    /ping
    </details>
    \\/ping               not a command: the slash is escaped
    `/ping`               not a command: inline code
    /ping `x`             not a command: the line is not plain text
    /usr/bin/env          not a command: a name has no second slash
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # markdown-it itself is imported by _markdown(), at the first body that may hold a command: a
    # process that never sees one does not carry the parser (about 60 modules).
    from markdown_it import MarkdownIt
    from markdown_it.token import Token

__all__ = ["Command", "is_command_name", "parse_commands"]

# A letter or digit first, then letters, digits, "-" and "_": "/ping", "/merge-when-green".
_NAME = re.compile(r"/[A-Za-z0-9][A-Za-z0-9_-]*")
_LINE_BREAKS = frozenset({"softbreak", "hardbreak"})
_TEXT = frozenset({"text", "text_special"})  # text_special: a backslash escape or an entity
# Where a command can start. Its line, stripped by str.strip(), begins with "/", so in the source the
# line (after a "\n" or a "\r", the only line breaks of CommonMark) is whitespace, then "/" written
# as itself, escaped ("\\/") or as an entity ("&#47;", "&sol;"). Any other first character is text
# that is not whitespace, or markup that makes the line something other than plain text.
_MAY_START_A_COMMAND = re.compile(r"(?:^|\r)\s*[/\\&]", re.MULTILINE)
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)\b[^>]*?(/?)>")
# Elements with no closing tag: they never contain anything.
_VOID_ELEMENTS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)


@dataclass(frozen=True)
class Command:
    """One slash command found in a body.

    ``name`` is the first word including its slash, exactly as written (``"/ping"``); ``args`` are the
    following whitespace-separated words; ``line`` is the whole line, stripped of surrounding whitespace.
    """

    name: str
    args: tuple[str, ...]
    line: str


def is_command_name(name: str) -> bool:
    """Whether ``name`` is a valid command name: a ``/`` then letters, digits, ``-`` or ``_``."""
    return _NAME.fullmatch(name) is not None


@cache
def _markdown() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # CommonMark, as GitHub's renderer is a CommonMark superset; HTML blocks must stay recognised so
    # that commands inside <!-- comments --> or <details> blocks are not picked up.
    # text_join is off so that an escaped slash stays a distinct token and never starts a command.
    return MarkdownIt("commonmark").disable("text_join")


def parse_commands(markdown: str | None) -> list[Command]:
    """Every slash command in ``markdown``, in document order.

    ``None`` (GitHub sends ``"body": null`` for an empty description) and ``""`` give ``[]``. Line endings
    may be ``\\n`` or ``\\r\\n``. Pure: never raises for any string input.
    """
    if not markdown or not _MAY_START_A_COMMAND.search(markdown):
        return []  # what the parser would say, without it: see _MAY_START_A_COMMAND
    return _parse_commands(markdown)


def _parse_commands(markdown: str) -> list[Command]:
    tokens = _markdown().parse(markdown)
    commands: list[Command] = []
    html_depth = 0  # elements opened by top-level HTML blocks and not yet closed
    for index, token in enumerate(tokens):
        if token.type == "html_block" and token.level == 0:
            html_depth = max(0, html_depth + _html_depth_change(token.content))
            continue
        if token.type != "inline" or token.level != 1 or not token.children or html_depth:
            continue
        opener = tokens[index - 1] if index > 0 else None
        if opener is None or opener.type != "paragraph_open" or opener.level != 0:
            continue  # headings and the like hold inline content too, but are not paragraphs
        for line in _split_lines(token.children):
            command = _command_in(line)
            if command is not None:
                commands.append(command)
    return commands


def _html_depth_change(html: str) -> int:
    """Opening tags minus closing tags in an HTML block, ignoring comments and void elements."""
    change = 0
    for closing, name, self_closing in _HTML_TAG.findall(_HTML_COMMENT.sub("", html)):
        if self_closing or name.lower() in _VOID_ELEMENTS:
            continue
        change += -1 if closing else 1
    return change


def _split_lines(children: list[Token]) -> list[list[Token]]:
    lines: list[list[Token]] = [[]]
    for child in children:
        if child.type in _LINE_BREAKS:
            lines.append([])
        else:
            lines[-1].append(child)
    return lines


def _command_in(line: list[Token]) -> Command | None:
    # Only a line made entirely of text counts: inline code, HTML, emphasis or links disqualify it,
    # and it must begin with a literal slash, not an escaped one.
    if not line or line[0].type != "text" or any(child.type not in _TEXT for child in line):
        return None
    text = "".join(child.content for child in line).strip()
    words = text.split()
    if not words or not is_command_name(words[0]):
        return None
    return Command(name=words[0], args=tuple(words[1:]), line=text)
