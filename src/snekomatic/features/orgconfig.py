"""Per-organization configuration: ``.github/snekomatic.yml``, parsed and validated. Pure: no I/O.

The file lives in the organization's ``.github`` repository; the same file in a repository overrides it,
key by key (a key the repository's file does not set keeps the organization's value; a list such as
``invite.exclude`` is replaced, not extended). Every key is optional::

    invite:
      enabled: true             # false: never invite from this organization (or repository)
      message: "Hi @{login}..."  # the welcome comment; {login} and {org} required, {pr_url} etc. allowed
      team: triagers            # a team slug: the invitation adds them to that team
      min_merged_prs: 1         # invite once they have this many merged pull requests in the org
      exclude: [dependabot, "*-bot"]   # logins or fnmatch globs, case-insensitive: never invited
      dry_run: false            # log what would happen, act on nothing

A file that is not valid YAML, sets an unknown key or a value of the wrong type raises
:class:`ConfigError` with the line (1-based) and the reason; the caller keeps the configuration it had.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, final

import yaml

from snekomatic.features.welcome import template_problems

__all__ = [
    "CONFIG_PATH",
    "ORG_CONFIG_REPOSITORY",
    "ConfigError",
    "ConfigLayer",
    "InviteConfig",
    "OrgConfig",
    "merge_config",
    "parse_config",
    "push_touches_config",
]

#: Where the file lives, in the organization's ``.github`` repository and in any repository.
CONFIG_PATH: Final = ".github/snekomatic.yml"
#: The organization-wide repository GitHub itself uses for community health files.
ORG_CONFIG_REPOSITORY: Final = ".github"

# https://docs.github.com/en/organizations/organizing-members-into-teams: slugs are the team name,
# lowercased, with anything but letters, digits, "-" and "_" turned into "-".
_TEAM_SLUG: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@final
class ConfigError(ValueError):
    """A configuration file the bot refuses: ``source`` (which file), ``line`` (1-based, None when the
    whole file is at fault) and ``reason``. ``str()`` is ``"source:line: reason"``."""

    def __init__(self, source: str, line: int | None, reason: str) -> None:
        self.source = source
        self.line = line
        self.reason = reason
        where = source if line is None else f"{source}:{line}"
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, kw_only=True)
class InviteConfig:
    """The ``invite`` section, with every default filled in. Immutable."""

    enabled: bool = True
    message: str | None = None  # None: the bot's configured or default welcome text
    team: str | None = None
    min_merged_prs: int = 1
    exclude: tuple[str, ...] = ()  # lowercased logins and globs
    dry_run: bool = False

    def excludes(self, login: str) -> bool:
        """Whether ``login`` matches an entry of ``exclude`` (case-insensitive fnmatch). Pure."""
        name = login.lower()
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.exclude)


@dataclass(frozen=True, kw_only=True)
class OrgConfig:
    """The configuration in force for one repository: the organization's file, then the repository's."""

    invite: InviteConfig = field(default_factory=InviteConfig)


@dataclass(frozen=True, kw_only=True)
class ConfigLayer:
    """What one file sets: ``values`` holds only the keys written in it, as ``("invite.team", "x")``
    pairs in file order. An empty layer (no file, an empty file) sets nothing."""

    source: str
    values: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return dict(self.values)


def merge_config(*layers: ConfigLayer) -> OrgConfig:
    """The configuration the layers make, later layers overriding earlier ones key by key. Pure."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer.values)
    invite = {key.removeprefix("invite."): value for key, value in merged.items()}
    return OrgConfig(invite=InviteConfig(**invite))


def push_touches_config(payload: Mapping[str, Any]) -> str | None:
    """The ``owner/name`` of the repository whose configuration a ``push`` payload may have changed.

    That is a push to the repository's default branch (the branch the contents API reads) whose
    commits add, modify or remove :data:`CONFIG_PATH`, or a forced push (its commits do not say what
    changed). None for anything else, malformed payloads included. Pure.
    """
    repository = payload.get("repository")
    if not isinstance(repository, Mapping):
        return None
    full_name, branch = repository.get("full_name"), repository.get("default_branch")
    if not isinstance(full_name, str) or payload.get("ref") != f"refs/heads/{branch}":
        return None
    if payload.get("forced") is True:
        return full_name
    commits = payload.get("commits")
    for commit in [*(commits if isinstance(commits, list) else []), payload.get("head_commit")]:
        if not isinstance(commit, Mapping):
            continue
        for change in ("added", "modified", "removed"):
            paths = commit.get(change)
            if isinstance(paths, list) and CONFIG_PATH in paths:
                return full_name
    return None


# --- validation: one function per key, as data --------------------------------------------------------


class _Invalid(Exception):
    """A value of the wrong type or out of range; the caller adds the file and the line."""


def _type_name(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_type_name(value)} {value!r}")
    return value


def _message(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected a text, got {_type_name(value)}")
    problems = template_problems(value)
    if problems:
        raise _Invalid("; ".join(problems))
    return value


def _team(value: object) -> str:
    if not isinstance(value, str) or not _TEAM_SLUG.fullmatch(value):
        raise _Invalid(f"expected a team slug such as 'triagers', got {value!r}")
    return value.lower()


def _min_merged_prs(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"expected a whole number, got {_type_name(value)} {value!r}")
    if value < 1:
        raise _Invalid(f"must be at least 1, got {value}")
    return value


def _exclude(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise _Invalid(f"expected a list of logins or patterns, got {_type_name(value)}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise _Invalid(f"expected logins or patterns (texts), got {item!r}")
    return tuple(item.strip().lower() for item in value)


_INVITE_KEYS: Final[Mapping[str, Callable[[object], object]]] = {
    "enabled": _boolean,
    "message": _message,
    "team": _team,
    "min_merged_prs": _min_merged_prs,
    "exclude": _exclude,
    "dry_run": _boolean,
}
_SECTIONS: Final = ("invite",)


# --- parsing, keeping line numbers ---------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _mapping_items(
    node: yaml.Node, source: str, what: str, known: tuple[str, ...]
) -> list[tuple[str, yaml.Node, yaml.Node]]:
    """The ``(key, key node, value node)`` entries of a mapping node, every key known and unique."""
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError(source, _line(node), f"{what} must be a mapping of keys to values")
    seen: set[str] = set()
    items = []
    for key_node, value_node in node.value:
        key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str) or key not in known:
            shown = key if isinstance(key, str) else "(not a plain key)"
            raise ConfigError(
                source, _line(key_node), f"unknown key {shown!r} (known: {', '.join(known)})"
            )
        if key in seen:
            raise ConfigError(source, _line(key_node), f"duplicate key {key!r}")
        seen.add(key)
        items.append((key, key_node, value_node))
    return items


def parse_config(text: str, *, source: str) -> ConfigLayer:
    """The settings written in ``text`` (a ``.github/snekomatic.yml``); ``source`` names the file in errors.

    Raises :class:`ConfigError` for YAML that does not parse (line of the problem), more than one
    document, a top level or ``invite`` section that is not a mapping, an unknown or duplicate key, or a
    value of the wrong type (line of the value). An empty file, or ``invite:`` with nothing under it,
    sets nothing. Only YAML's safe tags are built (no Python objects). Pure.
    """
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None or _is_null(root):
            return ConfigLayer(source=source)
        values: list[tuple[str, Any]] = []
        for section, _, section_node in _mapping_items(root, source, "the file", _SECTIONS):
            if _is_null(section_node):
                continue
            for key, _, value_node in _mapping_items(
                section_node, source, f"{section!r}", tuple(_INVITE_KEYS)
            ):
                value = loader.construct_object(value_node, deep=True)
                try:
                    values.append((f"{section}.{key}", _INVITE_KEYS[key](value)))
                except _Invalid as exc:
                    raise ConfigError(
                        source, _line(value_node), f"{section}.{key}: {exc}"
                    ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else int(mark.line) + 1
        reason = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise ConfigError(source, line, f"not valid YAML: {reason}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(source, None, f"not valid YAML: {type(exc).__name__}") from None
    finally:
        loader.dispose()
    return ConfigLayer(source=source, values=tuple(values))
