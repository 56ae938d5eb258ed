"""``.github/snekomatic.yml`` applied to invitations, end to end: fake GitHub, real GitHubApp and Store.

Every test here runs with ``FeatureOptions(org_config=True)`` (the ``options`` fixture below).
"""

from __future__ import annotations

import pytest
import trio
from structlog.testing import capture_logs
from trio.testing import MockClock

from snekomatic.features import FeatureOptions
from snekomatic.features.orgconfig import CONFIG_PATH
from snekomatic.features.orgconfig_source import DEFAULT_MAX_AGE
from snekomatic.gh.testing import FakeRepo, FakeUser
from tests.features.conftest import World

MINUTE = 60
MESSAGE = "Welcome aboard @{login}, you are now part of {org}! Thanks for {pr_url}"


@pytest.fixture
def options() -> FeatureOptions:
    return FeatureOptions(org_config=True)


def org_repo(world: World) -> FakeRepo:
    """The organization's ``.github`` repository (made on first use)."""
    return world.fake.repos.get("octo-org/.github") or world.fake.add_repo(world.org, ".github")


def configure(world: World, text: str, repo: FakeRepo | None = None) -> None:
    world.fake.write_file(repo or org_repo(world), CONFIG_PATH, text)


async def merge_and_dispatch(world: World, author: FakeUser) -> list[str]:
    """Merge a pull request by ``author``, handle its webhook; returns the comments on it."""
    pr, delivery = await world.merge(author)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    return world.comments(pr)


async def merge_earlier(world: World, author: FakeUser, times: int) -> None:
    """Merged pull requests by ``author`` whose webhooks the bot never saw."""
    for _ in range(times):
        pr = world.fake.open_pull_request(world.repo, author=author)
        pr.merged = True
        pr.issue.state = "closed"


def contents_reads(world: World, repository: str) -> list[int | None]:
    return [r.status for r in world.fake.requests_to("GET", f"/repos/{repository}/contents/*")]


async def test_without_a_file_the_original_behaviour_applies(
    world: World, clock: MockClock
) -> None:
    comments = await merge_and_dispatch(world, world.contributor)
    assert world.invitees() == ["zeke"]
    assert len(comments) == 1
    assert contents_reads(world, "octo-org/.github") == [404]
    assert contents_reads(world, "octo-org/widget") == [404]


async def test_disabled_invites_nobody_and_records_nothing(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  enabled: false\n")
    comments = await merge_and_dispatch(world, world.contributor)
    assert (world.invitees(), comments) == ([], [])
    assert await world.state_of(world.contributor) is None


async def test_repository_file_overrides_the_organizations(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  enabled: false\n")
    configure(world, "invite:\n  enabled: true\n", world.repo)
    await merge_and_dispatch(world, world.contributor)
    assert world.invitees() == ["zeke"]


async def test_configured_message_is_the_welcome_comment(world: World, clock: MockClock) -> None:
    configure(world, f"invite:\n  message: '{MESSAGE}'\n")
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    (comment,) = world.comments(pr)
    assert comment.startswith(
        "Welcome aboard @zeke, you are now part of octo-org! "
        "Thanks for https://github.com/octo-org/widget/pull/1"
    )


@pytest.mark.parametrize(
    "exclude", ["[ZEKE]", "['z*', other]"], ids=["by-login-any-case", "by-glob"]
)
async def test_excluded_author_is_not_invited(world: World, clock: MockClock, exclude: str) -> None:
    configure(world, f"invite:\n  exclude: {exclude}\n")
    comments = await merge_and_dispatch(world, world.contributor)
    assert (world.invitees(), comments) == ([], [])
    assert await world.state_of(world.contributor) is None


async def test_dry_run_acts_on_nothing_and_says_what_it_would_do(
    world: World, clock: MockClock
) -> None:
    configure(world, "invite:\n  dry_run: true\n")
    with capture_logs() as logs:
        comments = await merge_and_dispatch(world, world.contributor)
    assert (world.invitees(), comments) == ([], [])
    assert await world.state_of(world.contributor) is None
    assert world.fake.requests_to("POST", "/[!a]*") == []  # nothing but the token
    (line,) = [entry for entry in logs if entry["event"] == "invite dry run: nothing done"]
    assert (line["user"], line["org"]) == ("zeke", "octo-org")


@pytest.mark.parametrize(
    ("earlier", "invited"), [(0, False), (1, True)], ids=["first-merge", "second-merge"]
)
async def test_min_merged_prs_counts_the_authors_merged_prs_in_the_org(
    world: World, clock: MockClock, earlier: int, invited: bool
) -> None:
    configure(world, "invite:\n  min_merged_prs: 2\n")
    await merge_earlier(world, world.contributor, earlier)
    await merge_and_dispatch(world, world.contributor)
    assert world.invitees() == (["zeke"] if invited else [])
    assert await world.state_of(world.contributor) == ("commented" if invited else None)
    (search,) = world.fake.requests_to("GET", "/search/issues")
    assert search.query["q"] == "is:pr is:merged author:zeke org:octo-org"


async def test_a_later_merge_is_counted_again_after_too_few(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  min_merged_prs: 2\n")
    await merge_and_dispatch(world, world.contributor)
    assert world.invitees() == []
    await merge_and_dispatch(world, world.contributor)
    assert world.invitees() == ["zeke"]


async def test_incomplete_search_results_stay_quiet(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  min_merged_prs: 2\n")
    await merge_earlier(world, world.contributor, 3)
    world.fake.search_incomplete_results = True
    with capture_logs() as logs:
        comments = await merge_and_dispatch(world, world.contributor)
    assert (world.invitees(), comments) == ([], [])
    assert await world.state_of(world.contributor) is None
    assert any(entry.get("reason") == "merged-prs-unknown" for entry in logs)


async def test_failed_search_stays_quiet(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  min_merged_prs: 2\n")
    await merge_earlier(world, world.contributor, 3)
    world.fake.inject_fault("GET", "/search/issues", kind="server_error", times=10)
    comments = await merge_and_dispatch(world, world.contributor)
    assert (world.invitees(), comments) == ([], [])
    assert await world.state_of(world.contributor) is None


async def test_configured_team_is_in_the_invitation(world: World, clock: MockClock) -> None:
    team = world.fake.add_team(world.org, "Triagers")
    configure(world, "invite:\n  team: triagers\n")
    await merge_and_dispatch(world, world.contributor)
    (invitation,) = world.fake.invitations_for(world.org)
    assert (invitation.invitee.login, invitation.team_ids) == ("zeke", [team.id])


async def test_missing_team_invites_without_it_and_says_so(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  team: ghosts\n")
    with capture_logs() as logs:
        await merge_and_dispatch(world, world.contributor)
    (invitation,) = world.fake.invitations_for(world.org)
    assert invitation.team_ids == []
    assert any(entry["event"] == "configured team not found: inviting without it" for entry in logs)


async def test_push_to_the_file_changes_the_next_merge(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  enabled: true\n")
    await merge_and_dispatch(world, world.contributor)
    push = await world.fake.put_file(
        org_repo(world), CONFIG_PATH, "invite:\n  enabled: false\n", pusher=world.maintainer
    )
    with trio.fail_after(MINUTE):
        await world.dispatch(push)
    newcomer = world.fake.add_user("newcomer")
    comments = await merge_and_dispatch(world, newcomer)
    assert (world.invitees(), comments) == (["zeke"], [])
    assert contents_reads(world, "octo-org/.github") == [200, 200]


async def test_push_elsewhere_keeps_the_cached_file(world: World, clock: MockClock) -> None:
    configure(world, "invite:\n  enabled: true\n")
    await merge_and_dispatch(world, world.contributor)
    push = await world.fake.put_file(org_repo(world), "README.md", "hi", pusher=world.maintainer)
    with trio.fail_after(MINUTE):
        await world.dispatch(push)
    await merge_and_dispatch(world, world.fake.add_user("newcomer"))
    assert contents_reads(world, "octo-org/.github") == [200]


async def test_file_is_revalidated_with_its_etag_after_max_age(
    world: World, clock: MockClock
) -> None:
    configure(world, "invite:\n  enabled: true\n")
    await merge_and_dispatch(world, world.contributor)
    clock.jump(DEFAULT_MAX_AGE + 1)
    await merge_and_dispatch(world, world.fake.add_user("newcomer"))
    assert contents_reads(world, "octo-org/.github") == [200, 304]
    assert world.invitees() == ["zeke", "newcomer"]


async def test_malformed_file_changes_nothing_and_is_reported_once(
    world: World, clock: MockClock
) -> None:
    configure(world, "invite:\n  enabled: false\n  colour: blue\n")
    with capture_logs() as logs:
        await merge_and_dispatch(world, world.contributor)
        clock.jump(DEFAULT_MAX_AGE + 1)
        await merge_and_dispatch(world, world.fake.add_user("newcomer"))
    assert world.invitees() == ["zeke", "newcomer"]  # the defaults still apply
    reports = [entry for entry in logs if entry["event"].startswith("configuration file refused")]
    assert len(reports) == 1
    assert {k: reports[0][k] for k in ("file", "line", "log_level")} == {
        "file": f"octo-org/.github:{CONFIG_PATH}",
        "line": 3,
        "log_level": "error",
    }
    assert "unknown key 'colour'" in reports[0]["reason"]
    assert contents_reads(world, "octo-org/.github") == [200, 304]


async def test_malformed_push_keeps_the_previous_configuration(
    world: World, clock: MockClock
) -> None:
    configure(world, "invite:\n  enabled: false\n")
    await merge_and_dispatch(world, world.contributor)
    push = await world.fake.put_file(
        org_repo(world), CONFIG_PATH, "invite:\n  enabled: [\n", pusher=world.maintainer
    )
    with trio.fail_after(MINUTE):
        await world.dispatch(push)
    await merge_and_dispatch(world, world.fake.add_user("newcomer"))
    assert world.invitees() == []


async def test_missing_contents_permission_uses_the_defaults_and_says_so_once(
    world: World, clock: MockClock
) -> None:
    del world.installation.permissions["contents"]
    configure(world, "invite:\n  enabled: false\n")
    with capture_logs() as logs:
        await merge_and_dispatch(world, world.contributor)
    assert world.invitees() == ["zeke"]
    lines = [e for e in logs if e["event"] == "configuration not readable: missing permission"]
    assert len(lines) == 1


async def test_recorded_invitation_is_not_re_decided(world: World, clock: MockClock) -> None:
    pr, delivery = await world.merge(world.contributor)
    world.store.crash_before = "commented"
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup):
        await world.dispatch(delivery)
    configure(world, "invite:\n  enabled: false\n")
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)  # the redelivery finishes what was started
    assert await world.state_of(world.contributor) == "commented"
    assert len(world.comments(pr)) == 1
