"""Parsing and merging ``.github/snekomatic.yml`` (pure), and the pure rules that apply it."""

from __future__ import annotations

from typing import Any

import pytest

from snekomatic.features import _invite_rules as rules
from snekomatic.features.orgconfig import (
    CONFIG_PATH,
    ConfigError,
    InviteConfig,
    OrgConfig,
    merge_config,
    parse_config,
    push_touches_config,
)
from tests.payloads import load_payload

SOURCE = "octo-org/.github:.github/snekomatic.yml"
MESSAGE = "Welcome @{login} to {org}! ({pr_url})"


def parsed(text: str) -> InviteConfig:
    return merge_config(parse_config(text, source=SOURCE)).invite


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", InviteConfig()),
        ("# nothing but a comment\n", InviteConfig()),
        ("invite:\n", InviteConfig()),
        ("invite:\n  enabled: false\n", InviteConfig(enabled=False)),
        (f"invite:\n  message: '{MESSAGE}'\n", InviteConfig(message=MESSAGE)),
        ("invite:\n  team: Triagers\n", InviteConfig(team="triagers")),
        ("invite:\n  min_merged_prs: 3\n", InviteConfig(min_merged_prs=3)),
        (
            "invite:\n  exclude: [Dependabot, '*-BOT']\n",
            InviteConfig(exclude=("dependabot", "*-bot")),
        ),
        ("invite:\n  dry_run: true\n", InviteConfig(dry_run=True)),
    ],
    ids=[
        "empty-file",
        "only-a-comment",
        "empty-invite-section",
        "enabled",
        "message",
        "team",
        "min-merged-prs",
        "exclude",
        "dry-run",
    ],
)
def test_each_key_is_read(text: str, expected: InviteConfig) -> None:
    assert parsed(text) == expected


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("invite:\n  enabled: 'no'\n", 2, "invite.enabled: expected true or false"),
        ("invite:\n  enabled: 1\n", 2, "invite.enabled: expected true or false"),
        ("invite:\n\n  dry_run: null\n", 3, "invite.dry_run: expected true or false"),
        ("invite:\n  message: 42\n", 2, "invite.message: expected a text"),
        ("invite:\n  message: 'Hi {login}'\n", 2, "has no {org} placeholder"),
        ("invite:\n  team: [a]\n", 2, "invite.team: expected a team slug"),
        ("invite:\n  min_merged_prs: '2'\n", 2, "expected a whole number"),
        ("invite:\n  min_merged_prs: true\n", 2, "expected a whole number"),
        ("invite:\n  min_merged_prs: 0\n", 2, "must be at least 1"),
        ("invite:\n  exclude: someone\n", 2, "expected a list"),
        ("invite:\n  exclude: [ok, 3]\n", 2, "expected logins or patterns"),
        ("invite:\n  enabled: true\n  colour: blue\n", 3, "unknown key 'colour'"),
        ("welcome:\n  enabled: true\n", 1, "unknown key 'welcome'"),
        ("invite:\n  team: a\n  team: b\n", 3, "duplicate key 'team'"),
        ("- invite\n", 1, "the file must be a mapping"),
        ("invite: yes please\n", 1, "'invite' must be a mapping"),
        ("invite:\n  enabled: true\n   dry_run: [\n", 3, "not valid YAML"),
        ("invite:\n  enabled: false\n---\ninvite: {}\n", 3, "not valid YAML"),
        ("invite:\n  enabled: !!python/object/apply:os.getcwd []\n", 2, "not valid YAML"),
    ],
    ids=[
        "enabled-string",
        "enabled-int",
        "dry-run-null",
        "message-not-text",
        "message-missing-placeholder",
        "team-list",
        "min-merged-prs-string",
        "min-merged-prs-bool",
        "min-merged-prs-zero",
        "exclude-not-a-list",
        "exclude-item-not-text",
        "unknown-key",
        "unknown-section",
        "duplicate-key",
        "top-level-list",
        "invite-not-a-mapping",
        "bad-yaml-with-line",
        "two-documents",
        "python-tag",
    ],
)
def test_refused_file_names_the_line_and_the_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(text, source=SOURCE)
    assert (refused.value.source, refused.value.line) == (SOURCE, line)
    assert reason in refused.value.reason
    assert str(refused.value).startswith(f"{SOURCE}:{line}: ")


def test_repository_file_overrides_the_organizations_key_by_key() -> None:
    org = parse_config("invite:\n  enabled: false\n  team: triagers\n", source="org")
    repo = parse_config("invite:\n  enabled: true\n  exclude: [bob]\n", source="repo")
    assert merge_config(org, repo) == OrgConfig(
        invite=InviteConfig(enabled=True, team="triagers", exclude=("bob",))
    )


def test_a_repository_list_replaces_the_organizations() -> None:
    org = parse_config("invite:\n  exclude: [alice]\n", source="org")
    repo = parse_config("invite:\n  exclude: [bob]\n", source="repo")
    assert merge_config(org, repo).invite.exclude == ("bob",)


@pytest.mark.parametrize(
    ("login", "excluded"),
    [("Dependabot", True), ("renovate-bot", True), ("zeke", False), ("bot-zeke", False)],
    ids=["login-any-case", "glob", "other-login", "glob-anchored"],
)
def test_exclude_matches_logins_and_globs_case_insensitively(login: str, excluded: bool) -> None:
    config = InviteConfig(exclude=("dependabot", "*-bot"))
    assert config.excludes(login) is excluded


# --- push payloads ----------------------------------------------------------------------------------


def push(ref: str = "refs/heads/main", **changes: list[str]) -> dict[str, Any]:
    payload = load_payload("push", "with-organization")
    payload["ref"] = ref
    payload["repository"]["default_branch"] = "main"
    commit = {"added": [], "modified": [], "removed": [], **changes}
    payload["commits"] = [commit]
    payload["head_commit"] = commit
    return payload


@pytest.mark.parametrize(
    ("payload", "touched"),
    [
        (push(modified=[CONFIG_PATH]), True),
        (push(added=[CONFIG_PATH]), True),
        (push(removed=[CONFIG_PATH]), True),
        (push(modified=["README.md"]), False),
        (push("refs/heads/feature", modified=[CONFIG_PATH]), False),
        ({**push(modified=["README.md"]), "forced": True}, True),
        ({"ref": "refs/heads/main"}, False),
    ],
    ids=["modified", "added", "removed", "other-file", "other-branch", "forced", "malformed"],
)
def test_push_touches_config_only_for_the_file_on_the_default_branch(
    payload: dict[str, Any], touched: bool
) -> None:
    expected = payload["repository"]["full_name"] if touched else None
    assert push_touches_config(payload) == expected


# --- counting merged pull requests ---------------------------------------------------------------------

PR = "https://github.com/octo-org/widget/pull/7"


def search(total: int, urls: list[str], *, incomplete: object = False) -> dict[str, Any]:
    return {
        "total_count": total,
        "incomplete_results": incomplete,
        "items": [{"html_url": url} for url in urls],
    }


@pytest.mark.parametrize(
    ("answer", "count"),
    [
        (search(2, [PR, "https://github.com/octo-org/widget/pull/1"]), 2),
        (search(1, ["https://github.com/octo-org/widget/pull/1"]), 2),
        (search(0, []), 1),
        (search(150, [PR] * 100), 150),
        (search(2, [PR, PR], incomplete=True), None),
        (search(2, [PR, PR], incomplete=None), None),
        ({"items": []}, None),
        ([], None),
    ],
    ids=[
        "indexed",
        "index-lags-behind-the-merge",
        "nothing-indexed-yet",
        "more-than-a-page",
        "incomplete-results",
        "incomplete-results-missing",
        "no-total-count",
        "not-a-mapping",
    ],
)
def test_merged_pr_count(answer: object, count: int | None) -> None:
    assert rules.merged_pr_count(answer, PR) == count


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        (InviteConfig(), None),
        (InviteConfig(enabled=False), "disabled"),
        (InviteConfig(exclude=("ze*",)), "excluded"),
    ],
    ids=["default", "disabled", "excluded"],
)
def test_config_skip_reason(config: InviteConfig, reason: str | None) -> None:
    assert rules.config_skip_reason(config, "zeke") == reason
