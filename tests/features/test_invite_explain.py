"""explain_merge: what the invite feature decided for a merged pull request, read back from the
payload and the invitation it recorded, in words."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from snekomatic.features import explain_merge
from snekomatic.gh.testing import FakeGitHub, FakeUser, generate_private_key, pull_request_payload
from snekomatic.store import Invitation

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def merged_payload(*, author_type: str = "User", org: bool = True, merged: bool = True) -> dict[str, Any]:
    fake = FakeGitHub(private_key=generate_private_key())
    owner = fake.add_org("pit") if org else fake.add_user("ada")
    author: FakeUser = fake.add_user(
        "zeke" if author_type == "User" else "dependabot[bot]", type=author_type  # type: ignore[arg-type]
    )
    repo = fake.add_repo(owner, "hiss")
    installation = fake.install(owner)
    pr = fake.open_pull_request(repo, author=author)
    if merged:
        fake.mark_merged(pr, merged_by=author)
    else:
        pr.issue.state = "closed"
    return pull_request_payload(pr, action="closed", sender=author, installation=installation)


def invitation(payload: dict[str, Any], state: str, **changes: Any) -> Invitation:
    values: dict[str, Any] = {
        "org_id": payload["organization"]["id"],
        "user_id": payload["pull_request"]["user"]["id"],
        "org_login": "pit",
        "user_login": "zeke",
        "state": state,
        "updated_at": NOW,
        "pr_url": payload["pull_request"]["html_url"],
    }
    values.update(changes)
    return Invitation(**values)


@pytest.mark.parametrize(
    ("state", "last_error", "expected"),
    [
        ("commented", None, "invited: invited zeke to pit and thanked them in a comment"),
        ("invited", None, "invited: invited zeke to pit; the welcome comment is on its way"),
        ("member", None, "not invited: zeke was already a member of pit, or already invited"),
        (
            "member",
            "already-member",
            "not invited: GitHub answered that zeke is already a part of pit",
        ),
        ("deferred", None, "not invited: invitations to pit are paused"),
        ("checking", None, "undecided: checking whether zeke is a member of pit"),
        ("inviting", None, "undecided: inviting zeke to pit"),
    ],
    ids=["commented", "invited", "member", "already-member", "deferred", "checking", "inviting"],
)
def test_the_invitation_state_says_what_was_decided(
    state: str, last_error: str | None, expected: str
) -> None:
    payload = merged_payload()
    decision = explain_merge(
        payload, invitation(payload, state, last_error=last_error), processed=True
    )
    assert str(decision).startswith(expected)


@pytest.mark.parametrize(
    ("payload_options", "expected"),
    [
        ({"author_type": "Bot"}, "not invited: dependabot[bot] is a bot account"),
        ({"org": False}, "not invited: the repository belongs to a person, not an organization"),
        ({"merged": False}, "not invited: the pull request was closed without being merged"),
    ],
    ids=["bot-author", "personal-repository", "not-merged"],
)
def test_a_merge_the_feature_skips_says_why(payload_options: dict[str, Any], expected: str) -> None:
    assert str(explain_merge(merged_payload(**payload_options), None, processed=True)) == expected


def test_an_invitation_started_by_an_earlier_pull_request_means_not_invited_again() -> None:
    payload = merged_payload()
    earlier = invitation(payload, "commented", pr_url="https://github.com/pit/hiss/pull/7")
    decision = explain_merge(payload, earlier, processed=True)
    assert decision.verdict == "not invited"
    assert "https://github.com/pit/hiss/pull/7" in decision.reason


@pytest.mark.parametrize(
    ("processed", "verdict"), [(False, "undecided"), (True, "not invited")], ids=["pending", "done"]
)
def test_no_invitation_is_undecided_until_processed(processed: bool, verdict: str) -> None:
    assert explain_merge(merged_payload(), None, processed=processed).verdict == verdict


def test_any_mapping_is_explained_without_raising() -> None:
    assert explain_merge({"pull_request": "nonsense"}, None, processed=True).verdict == "not invited"
