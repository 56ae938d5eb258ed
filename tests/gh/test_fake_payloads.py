"""The fake's webhook payloads are GitHub-shaped: they validate against octokit/webhooks' schemas and
carry the fields of GitHub's real examples."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from snekomatic.gh.testing._model import (
    FakeComment,
    FakeInstallation,
    FakeIssue,
    FakeMembership,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
)
from snekomatic.gh.testing._payloads import (
    comment_json,
    derive_author_association,
    format_timestamp,
    installation_lite_json,
    installation_payload,
    issue_comment_payload,
    issue_json,
    issues_payload,
    node_id,
    ping_payload,
    pull_request_payload,
    user_json,
)
from tests.gh.webhook_schemas import assert_valid_webhook, schema_errors
from tests.payloads import load_payload

T0 = 1_557_933_633.0  # 2019-05-15T15:20:33Z, the time of octokit's examples


# --- building the fake's records -----------------------------------------------------------------


def make_user(login: str = "contributor", *, id: int = 1001, type: Any = "User") -> FakeUser:
    return FakeUser(id=id, login=login, type=type)


def make_repo(*, org_owned: bool) -> FakeRepo:
    if org_owned:
        org = FakeOrg(account=FakeUser(id=500, login="python-trio", type="Organization"))
        maintainer = make_user("maintainer", id=2001)
        org.members[maintainer.id] = FakeMembership(user=maintainer)
        return FakeRepo(id=300, name="trio", owner=org.account, org=org, created_at=T0)
    return FakeRepo(id=301, name="hello", owner=make_user("someone", id=2002), created_at=T0)


def make_issue(
    repo: FakeRepo, author: FakeUser, *, number: int = 7, is_pull_request: bool = False
) -> FakeIssue:
    return FakeIssue(
        id=40_000 + number,
        repo=repo,
        number=number,
        title="Fix the thing",
        body="It was broken.",
        author=author,
        created_at=T0,
        updated_at=T0,
        is_pull_request=is_pull_request,
    )


def make_pull_request(repo: FakeRepo, author: FakeUser, *, number: int = 7) -> FakePullRequest:
    issue = make_issue(repo, author, number=number, is_pull_request=True)
    return FakePullRequest(issue=issue, id=90_000 + number, head_sha="a" * 40)


def close(pr: FakePullRequest, *, merged_by: FakeUser | None) -> None:
    pr.issue.state = "closed"
    pr.issue.closed_at = pr.issue.updated_at = T0 + 60
    if merged_by is not None:
        pr.merged = True
        pr.merged_by = merged_by
        pr.merged_at = T0 + 60
        pr.merge_commit_sha = "b" * 40


def make_installation(account: FakeUser) -> FakeInstallation:
    return FakeInstallation(
        id=77,
        account=account,
        permissions={"members": "write", "pull_requests": "write", "metadata": "read"},
        events=["pull_request", "issue_comment"],
        created_at=T0,
    )


def authors() -> list[Any]:
    return [
        pytest.param(make_user("contributor"), id="author-user"),
        pytest.param(make_user("helper[bot]", id=3001, type="Bot"), id="author-bot"),
    ]


ORG_OR_USER = [pytest.param(True, id="org-repo"), pytest.param(False, id="user-repo")]
WITH_INSTALLATION = [pytest.param(True, id="installation"), pytest.param(False, id="no-install")]


def urls_in(value: Any) -> Iterator[str]:
    """Every URL-valued field (``*_url``, ``url``, ``href``) anywhere in a payload."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str) and (key in ("url", "href") or key.endswith("_url")):
                yield item
            else:
                yield from urls_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from urls_in(item)


# --- schema validity -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "merged", [pytest.param(True, id="merged"), pytest.param(False, id="unmerged")]
)
@pytest.mark.parametrize("org_owned", ORG_OR_USER)
@pytest.mark.parametrize("author", authors())
@pytest.mark.parametrize("installed", WITH_INSTALLATION)
def test_closed_pull_request_payload_matches_schema(
    merged: bool, org_owned: bool, author: FakeUser, installed: bool
) -> None:
    repo = make_repo(org_owned=org_owned)
    pr = make_pull_request(repo, author)
    closer = make_user("maintainer", id=2001)
    close(pr, merged_by=closer if merged else None)
    installation = make_installation(repo.owner) if installed else None

    payload = pull_request_payload(pr, action="closed", sender=closer, installation=installation)

    assert_valid_webhook("pull_request", payload)
    assert payload["pull_request"]["merged"] is merged


@pytest.mark.parametrize("org_owned", ORG_OR_USER)
@pytest.mark.parametrize("author", authors())
def test_opened_pull_request_payload_matches_schema(org_owned: bool, author: FakeUser) -> None:
    repo = make_repo(org_owned=org_owned)
    pr = make_pull_request(repo, author)

    payload = pull_request_payload(
        pr, action="opened", sender=author, installation=make_installation(repo.owner)
    )

    assert_valid_webhook("pull_request", payload)


@pytest.mark.parametrize(
    "on_pull_request", [pytest.param(False, id="on-issue"), pytest.param(True, id="on-pr")]
)
@pytest.mark.parametrize("org_owned", ORG_OR_USER)
@pytest.mark.parametrize("author", authors())
@pytest.mark.parametrize("installed", WITH_INSTALLATION)
def test_issue_comment_payload_matches_schema(
    on_pull_request: bool, org_owned: bool, author: FakeUser, installed: bool
) -> None:
    repo = make_repo(org_owned=org_owned)
    issue = make_issue(repo, make_user("reporter", id=1002), is_pull_request=on_pull_request)
    comment = FakeComment(
        id=123, repo=repo, issue_number=issue.number, author=author, body="/ping", created_at=T0
    )
    issue.comments.append(comment)
    installation = make_installation(repo.owner) if installed else None

    payload = issue_comment_payload(comment, issue, sender=author, installation=installation)

    assert_valid_webhook("issue_comment", payload)


def test_edited_issue_comment_payload_with_changes_matches_schema() -> None:
    repo = make_repo(org_owned=True)
    author = make_user()
    issue = make_issue(repo, author)
    comment = FakeComment(id=5, repo=repo, issue_number=issue.number, author=author, body="new")

    payload = issue_comment_payload(
        comment, issue, action="edited", sender=author, changes={"body": {"from": "old"}}
    )

    assert_valid_webhook("issue_comment", payload)


@pytest.mark.parametrize("org_owned", ORG_OR_USER)
@pytest.mark.parametrize("installed", WITH_INSTALLATION)
def test_issues_opened_payload_matches_schema(org_owned: bool, installed: bool) -> None:
    repo = make_repo(org_owned=org_owned)
    author = make_user()
    issue = make_issue(repo, author)
    installation = make_installation(repo.owner) if installed else None

    payload = issues_payload(issue, action="opened", sender=author, installation=installation)

    assert_valid_webhook("issues", payload)


def test_issues_closed_payload_matches_schema() -> None:
    repo = make_repo(org_owned=True)
    issue = make_issue(repo, make_user())
    issue.state, issue.closed_at = "closed", T0 + 5

    payload = issues_payload(issue, action="closed", sender=make_user("maintainer", id=2001))

    assert_valid_webhook("issues", payload)
    assert payload["issue"]["state_reason"] == "completed"


@pytest.mark.parametrize(
    "with_sender", [pytest.param(True, id="sender"), pytest.param(False, id="no-sender")]
)
def test_ping_payload_matches_schema(with_sender: bool) -> None:
    payload = ping_payload(
        hook_id=9,
        app_id=42,
        webhook_url="http://127.0.0.1:8000/webhook/github",
        created_at=T0,
        sender=make_user() if with_sender else None,
    )

    assert_valid_webhook("ping", payload)
    assert payload["hook"]["app_id"] == 42


@pytest.mark.parametrize("org_owned", ORG_OR_USER)
def test_installation_created_payload_matches_schema(org_owned: bool) -> None:
    repo = make_repo(org_owned=org_owned)
    installer = make_user("maintainer", id=2001)

    payload = installation_payload(
        make_installation(repo.owner), sender=installer, repositories=[repo], app_id=42
    )

    assert_valid_webhook("installation", payload)
    expected_target = "Organization" if org_owned else "User"
    assert payload["installation"]["target_type"] == expected_target


def test_schema_check_rejects_a_payload_without_sender() -> None:
    # Guards the validator itself: a broken payload must not pass silently.
    repo = make_repo(org_owned=False)
    payload = issues_payload(make_issue(repo, make_user()), action="opened", sender=make_user())
    del payload["sender"]

    assert schema_errors("issues", payload)


def test_schema_check_rejects_a_badly_formatted_time() -> None:
    repo = make_repo(org_owned=False)
    payload = issues_payload(make_issue(repo, make_user()), action="opened", sender=make_user())
    payload["issue"]["created_at"] = "2019-05-15 15:20:33"

    assert schema_errors("issues", payload)


# --- agreement with GitHub's real examples -------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "example", "build"),
    [
        pytest.param(
            "pull_request",
            "closed.with-organization",
            lambda repo, user: pull_request_payload(
                make_pull_request(repo, user),
                action="closed",
                sender=user,
                installation=make_installation(repo.owner),
            ),
            id="pull_request",
        ),
        pytest.param(
            "issue_comment",
            "created.with-organization",
            lambda repo, user: issue_comment_payload(
                FakeComment(id=1, repo=repo, issue_number=7, author=user, body="hi"),
                make_issue(repo, user),
                sender=user,
            ),
            id="issue_comment",
        ),
        pytest.param(
            "issues",
            "opened.with-organization",
            lambda repo, user: issues_payload(make_issue(repo, user), action="opened", sender=user),
            id="issues",
        ),
    ],
)
def test_objects_carry_every_field_of_the_real_example(
    event: str, example: str, build: Any
) -> None:
    real = load_payload(event, example)
    ours = build(make_repo(org_owned=True), make_user())

    for key, value in real.items():
        if isinstance(value, dict):
            assert set(value) - set(ours[key]) == set(), key


def test_organization_key_is_present_exactly_for_organization_repos() -> None:
    user = make_user()
    org_payload = issues_payload(
        make_issue(make_repo(org_owned=True), user), action="opened", sender=user
    )
    user_payload = issues_payload(
        make_issue(make_repo(org_owned=False), user), action="opened", sender=user
    )

    assert org_payload["organization"]["login"] == "python-trio"
    assert "organization" not in user_payload


def test_installation_key_is_the_lite_form() -> None:
    repo = make_repo(org_owned=True)
    user = make_user()
    installation = make_installation(repo.owner)

    payload = issues_payload(
        make_issue(repo, user), action="opened", sender=user, installation=installation
    )

    assert payload["installation"] == {
        "id": 77,
        "node_id": installation_lite_json(installation)["node_id"],
    }


def test_payload_without_installation_has_no_installation_key() -> None:
    repo = make_repo(org_owned=True)
    user = make_user()

    payload = issues_payload(make_issue(repo, user), action="opened", sender=user)

    assert "installation" not in payload


def test_every_url_uses_the_given_base_urls() -> None:
    repo = make_repo(org_owned=True)
    pr = make_pull_request(repo, make_user())
    base = "http://127.0.0.1:8123"

    payload = pull_request_payload(
        pr, action="opened", sender=pr.author, api_url=base + "/api/v3", html_url=base
    )

    urls = [url for url in urls_in(payload) if "://" in url]  # not ssh_url's git@host:path
    assert urls
    assert [url for url in urls if urlsplit(url).netloc != "127.0.0.1:8123"] == []
    assert payload["pull_request"]["url"] == f"{base}/api/v3/repos/python-trio/trio/pulls/7"


def test_payload_is_plain_json() -> None:
    repo = make_repo(org_owned=True)
    pr = make_pull_request(repo, make_user())
    close(pr, merged_by=make_user("maintainer", id=2001))
    payload = pull_request_payload(pr, action="closed", sender=pr.author)

    assert json.loads(json.dumps(payload)) == payload


# --- individual fields ---------------------------------------------------------------------------


def test_times_are_formatted_like_github() -> None:
    assert format_timestamp(T0) == "2019-05-15T15:20:33Z"


def test_fractional_seconds_are_dropped() -> None:
    assert format_timestamp(T0 + 0.999) == "2019-05-15T15:20:33Z"


@pytest.mark.parametrize(
    ("kind", "database_id", "expected"),
    [
        pytest.param("User", 21031067, "MDQ6VXNlcjIxMDMxMDY3", id="user"),
        pytest.param("Organization", 38302899, "MDEyOk9yZ2FuaXphdGlvbjM4MzAyODk5", id="org"),
        pytest.param("Issue", 444500041, "MDU6SXNzdWU0NDQ1MDAwNDE=", id="issue"),
    ],
)
def test_node_ids_follow_githubs_legacy_encoding(
    kind: str, database_id: int, expected: str
) -> None:
    assert node_id(kind, database_id) == expected


def test_installation_node_id_matches_the_real_example() -> None:
    real = load_payload("pull_request", "closed.with-organization")["installation"]

    ours = installation_lite_json(FakeInstallation(id=real["id"], account=make_user()))

    assert ours == real


def test_bot_user_links_to_its_app_page_and_quotes_its_login() -> None:
    bot = make_user("helper[bot]", id=3001, type="Bot")

    shown = user_json(bot)

    assert shown["html_url"] == "https://github.com/apps/helper"
    assert shown["url"] == "https://api.github.com/users/helper%5Bbot%5D"
    assert base64.b64decode(shown["node_id"]) == b"03:Bot3001"


def test_merged_pull_request_reports_merge_details() -> None:
    repo = make_repo(org_owned=True)
    pr = make_pull_request(repo, make_user())
    maintainer = make_user("maintainer", id=2001)
    close(pr, merged_by=maintainer)

    shown = pull_request_payload(pr, action="closed", sender=maintainer)["pull_request"]

    assert (shown["merged"], shown["merged_by"]["login"]) == (True, "maintainer")
    assert (shown["merged_at"], shown["closed_at"]) == ("2019-05-15T15:21:33Z",) * 2
    assert shown["merge_commit_sha"] == "b" * 40


def test_issue_of_a_pull_request_links_the_pull_request() -> None:
    repo = make_repo(org_owned=True)
    pr = make_pull_request(repo, make_user())
    close(pr, merged_by=make_user("maintainer", id=2001))

    shown = issue_json(pr.issue, pull_request=pr)

    assert shown["html_url"] == "https://github.com/python-trio/trio/pull/7"
    assert shown["pull_request"]["merged_at"] == "2019-05-15T15:21:33Z"


def test_plain_issue_has_no_pull_request_block() -> None:
    shown = issue_json(make_issue(make_repo(org_owned=True), make_user()))

    assert "pull_request" not in shown


def test_comment_on_a_pull_request_links_to_the_pull_page() -> None:
    repo = make_repo(org_owned=True)
    comment = FakeComment(id=9, repo=repo, issue_number=7, author=make_user(), body="hi")

    shown = comment_json(comment, is_pull_request=True)

    assert shown["html_url"] == "https://github.com/python-trio/trio/pull/7#issuecomment-9"


def test_reactions_are_counted_by_content() -> None:
    repo = make_repo(org_owned=True)
    fan, other = make_user("fan", id=1), make_user("other", id=2)
    comment = FakeComment(
        id=9,
        repo=repo,
        issue_number=7,
        author=fan,
        body="hi",
        reactions=[(fan, "+1"), (other, "+1"), (other, "rocket")],
    )

    reactions = comment_json(comment)["reactions"]

    assert (reactions["total_count"], reactions["+1"], reactions["rocket"], reactions["eyes"]) == (
        3,
        2,
        1,
        0,
    )


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        pytest.param("owner", "OWNER", id="owner"),
        pytest.param("member", "MEMBER", id="active-member"),
        pytest.param("pending", "NONE", id="pending-member"),
        pytest.param("stranger", "NONE", id="stranger"),
    ],
)
def test_author_association_is_derived_from_the_records(who: str, expected: str) -> None:
    repo = make_repo(org_owned=True)
    assert repo.org is not None
    pending = make_user("invited", id=2003)
    repo.org.members[pending.id] = FakeMembership(user=pending, state="pending")
    people = {
        "owner": repo.owner,
        "member": repo.org.members[2001].user,
        "pending": pending,
        "stranger": make_user("stranger", id=9999),
    }

    assert derive_author_association(people[who], repo) == expected


def test_author_association_can_be_given_explicitly() -> None:
    repo = make_repo(org_owned=True)
    pr = make_pull_request(repo, make_user())

    payload = pull_request_payload(
        pr, action="opened", sender=pr.author, author_association="FIRST_TIME_CONTRIBUTOR"
    )

    assert payload["pull_request"]["author_association"] == "FIRST_TIME_CONTRIBUTOR"
