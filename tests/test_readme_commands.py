"""Every ``snekomatic ...`` command the README shows exists as written: its options, which of them
are optional (in brackets), and the defaults it quotes (``[--since 72h]``)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from snekomatic.cli import main

README = Path(__file__).parents[1] / "README.md"

# `snekomatic <command> ...` in backticks, or a `$ snekomatic ...` line of a shell example.
_SNIPPET = re.compile(r"`(snekomatic [^`]+)`|^\$ (snekomatic .+?)(?:\s+#.*)?$", re.MULTILINE)


def _snippets() -> list[tuple[str, bool]]:
    """Each command shown, and whether it is a synopsis (placeholders, brackets for what is
    optional) rather than a concrete shell example."""
    found = []
    for match in _SNIPPET.finditer(README.read_text()):
        snippet = match.group(1) or match.group(2)
        words = snippet.split()
        if len(words) > 1 and not words[1].startswith(("-", "<")):
            found.append((snippet, match.group(1) is not None))
    return found


def _command(name: str) -> click.Command:
    assert isinstance(main, click.Group)
    command = main.commands.get(name)
    assert command is not None, f"the README shows `snekomatic {name}`, which does not exist"
    return command


def _options(command: click.Command) -> dict[str, click.Option]:
    return {
        flag: param
        for param in command.params
        if isinstance(param, click.Option)
        for flag in param.opts
    }


def _words(snippet: str) -> list[tuple[str, bool]]:
    """The snippet's words after the command, each with whether it sits inside brackets."""
    words: list[tuple[str, bool]] = []
    depth = 0
    for word in shlex.split(snippet.replace("[", " [ ").replace("]", " ] "))[2:]:
        if word == "[":
            depth += 1
        elif word == "]":
            depth -= 1
        else:
            words.append((word, depth > 0))
    return words


SNIPPETS = _snippets()


def test_the_readme_shows_commands() -> None:
    assert len(SNIPPETS) >= 10


@pytest.mark.parametrize(("snippet", "synopsis"), SNIPPETS)
def test_a_readme_command_matches_the_cli(snippet: str, synopsis: bool) -> None:
    command = _command(snippet.split()[1])
    options = _options(command)
    words = _words(snippet)
    # `replay --delivery ID [--now]`: an optional first option may name the form of the command.
    selector = words[0][0] if words and words[0][0].startswith("--") else None
    for index, (word, optional) in enumerate(words):
        if not word.startswith("--"):
            continue
        flag, _, inline = word.partition("=")
        assert flag in options, f"`{snippet}`: {command.name} has no option {flag}"
        option = options[flag]
        if synopsis and flag != selector:
            assert optional != option.required, (
                f"`{snippet}`: {flag} is {'optional' if not option.required else 'required'}:"
                f" write it {'in brackets' if not option.required else 'without brackets'}"
            )
        value = inline or (words[index + 1][0] if index + 1 < len(words) else "")
        quoted_default = optional and option.show_default and not option.is_flag
        if quoted_default and value and not value.isupper() and not value.startswith("http"):
            # A lower-case value in brackets reads as the default: it must be the default.
            assert value == str(option.default), (
                f"`{snippet}`: the default of {flag} is {option.default!r}, not {value!r}"
            )


def test_the_deploy_button_deploys_this_repository() -> None:
    import json

    repository = json.loads((README.parent / "app.json").read_text())["repository"]
    button = "https://www.herokucdn.com/deploy/button.svg)](https://heroku.com/deploy?template="
    assert f"{button}{repository})" in README.read_text()
