"""Backfill end to end: the fake GitHub served, a real GitHubApp, the real store on both databases.

The bot never sees the merges here (no delivery is dispatched): it was down, or installed later.
"""

from __future__ import annotations

import datetime as dt

import pytest
import trio
from trio.testing import MockClock

from snekomatic.features import FeatureOptions
from snekomatic.features.backfill import (
    CHECKPOINT_KIND,
    RUN_KIND,
    BackfillError,
    BackfillPlan,
    BackfillSummary,
    Outcome,
    Progress,
    backfill,
)
from snekomatic.features.orgconfig import CONFIG_PATH
from snekomatic.gh.errors import ServerError
from snekomatic.gh.testing import FakePullRequest, FakeRepo, FakeUser
from snekomatic.store import run_sync
from tests.features.conftest import World

MINUTE = 60
DAY = 24 * 3600


async def merge(
    world: World, clock: MockClock, author: FakeUser, repo: FakeRepo
) -> FakePullRequest:
    """A pull request by ``author`` merged a minute after the previous one (no delivery dispatched)."""
    clock.jump(MINUTE)
    pr = world.fake.open_pull_request(repo, author=author)
    await world.fake.merge_pull_request(pr, merged_by=world.maintainer)
    return pr


def close_unmerged(world: World, pr: FakePullRequest) -> None:
    pr.issue.state, pr.issue.closed_at = "closed", world.fake.now()


async def run(
    world: World, *, since: dt.datetime | None = None, dry_run: bool = False, restart: bool = False
) -> BackfillSummary:
    plan = BackfillPlan(since=since, dry_run=dry_run, restart=restart)
    with trio.fail_after(10 * MINUTE):
        return await backfill(world.app, world.store, "octo-org", plan=plan, clock=world.now)


def welcomes(world: World) -> list[tuple[str, int, str]]:
    """Every comment the app posted: (repository, number, body)."""
    return [
        (repo.full_name, number, comment.body)
        for (repo_id, number), pr in world.fake.pulls.items()
        for repo in [pr.repo]
        for comment in world.fake.comments_on(repo, number)
        if repo_id == repo.id
    ]


def welcomed(world: World) -> dict[str, int]:
    """How many welcome comments greet each login."""
    counts: dict[str, int] = {}
    for login in ("ada", "bo", "zeke"):
        counts[login] = sum(f"@{login}" in body for _, _, body in welcomes(world))
    return counts


def writes(world: World) -> list[str]:
    """The writes the fake received, other than installation tokens."""
    return [
        f"{r.method} {r.path}"
        for r in world.fake.requests
        if r.method in ("POST", "PUT", "PATCH", "DELETE") and not r.path.endswith("/access_tokens")
    ]


class Org:
    """Two repositories; outside contributors zeke (two merges) and ada (a merge in each repository),
    a member's merge, a bot's merge, and nell's pull requests, one open and one closed unmerged."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.gadget = world.fake.add_repo(world.org, "gadget")
        self.ada = world.fake.add_user("ada")
        self.nell = world.fake.add_user("nell")
        self.bot = world.fake.add_user("dependabot[bot]", type="Bot")

    async def build(self, clock: MockClock) -> dict[str, FakePullRequest]:
        w = self.world
        prs = {
            "zeke-1": await merge(w, clock, w.contributor, w.repo),
            "ada-gadget": await merge(w, clock, self.ada, self.gadget),
            "zeke-2": await merge(w, clock, w.contributor, w.repo),
            "ada-widget": await merge(w, clock, self.ada, w.repo),
            "maintainer": await merge(w, clock, w.maintainer, self.gadget),
            "bot": await merge(w, clock, self.bot, w.repo),
        }
        w.fake.open_pull_request(w.repo, author=self.nell)
        close_unmerged(w, w.fake.open_pull_request(self.gadget, author=self.nell))
        return prs


async def test_each_eligible_contributor_is_invited_once_and_welcomed_once(
    world: World, clock: MockClock
) -> None:
    prs = await Org(world).build(clock)
    summary = await run(world)
    assert sorted(world.invitees()) == ["ada", "zeke"]
    # Documented: the welcome goes on the author's oldest merged PR in the first repository walked.
    comments = welcomes(world)
    assert [(repo, number) for repo, number, _ in comments] == [
        ("octo-org/widget", prs["zeke-1"].number),
        ("octo-org/widget", prs["ada-widget"].number),
    ]
    assert await world.state_of(world.contributor) == "commented"
    assert await world.state_of(world.maintainer) == "member"
    assert (summary.repositories, summary.pull_requests) == (2, 6)
    assert summary.logins(Outcome.INVITED) == ["zeke", "ada"]
    assert summary.logins(Outcome.MEMBER) == ["maintainer"]
    assert summary.logins(Outcome.SKIPPED_BOT) == ["dependabot[bot]"]


async def test_a_contributor_the_webhook_invited_is_not_invited_again(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    summary = await run(world)
    assert world.invitees() == ["zeke"]
    assert len(world.comments(pr)) == 1
    assert summary.logins(Outcome.ALREADY_INVITED) == ["zeke"]


async def test_dry_run_writes_nothing_and_names_who_would_be_invited(
    world: World, clock: MockClock
) -> None:
    await Org(world).build(clock)
    summary = await run(world, dry_run=True)
    assert writes(world) == []
    assert await run_sync(world.store.store.list_invitations, None) == []
    key = f"{world.org.account.id}:{world.repo.id}"
    assert await run_sync(world.store.store.get_effect, CHECKPOINT_KIND, key) is None
    org_key = str(world.org.account.id)
    assert await run_sync(world.store.store.get_effect, RUN_KIND, org_key) is None
    assert summary.logins(Outcome.WOULD_INVITE) == ["zeke", "ada"]
    assert summary.logins(Outcome.MEMBER) == ["maintainer"]


async def test_since_leaves_out_older_merges(world: World, clock: MockClock) -> None:
    ada = world.fake.add_user("ada")
    await merge(world, clock, world.contributor, world.repo)
    clock.jump(DAY)
    since = dt.datetime.fromtimestamp(world.clock(), dt.UTC)
    await merge(world, clock, ada, world.repo)
    summary = await run(world, since=since)
    assert world.invitees() == ["ada"]
    assert await world.state_of(world.contributor) is None
    assert summary.pull_requests == 1


async def test_the_organizations_configuration_applies_as_on_a_merge(
    world: World, clock: MockClock
) -> None:
    ada = world.fake.add_user("ada")
    configure = "invite:\n  exclude: [zeke]\n  message: 'Hello @{login}, now in {org}!'\n"
    world.fake.write_file(world.fake.add_repo(world.org, ".github"), CONFIG_PATH, configure)
    await merge(world, clock, world.contributor, world.repo)
    pr = await merge(world, clock, ada, world.repo)
    plan = BackfillPlan(options=FeatureOptions(org_config=True))
    with trio.fail_after(10 * MINUTE):
        summary = await backfill(world.app, world.store, "octo-org", plan=plan, clock=world.now)
    assert world.invitees() == ["ada"]
    (comment,) = world.comments(pr)
    assert comment.startswith("Hello @ada, now in octo-org!")
    assert summary.logins(Outcome.SKIPPED_CONFIG) == ["zeke"]


async def test_an_organization_without_the_app_is_refused(world: World, clock: MockClock) -> None:
    world.fake.add_org("elsewhere")
    with trio.fail_after(MINUTE), pytest.raises(BackfillError, match="not installed"):
        await backfill(world.app, world.store, "elsewhere", plan=BackfillPlan(), clock=world.now)


# --- interrupted and resumed -----------------------------------------------------------------------


class Resumable:
    """widget: zeke; gadget: ada then bo. The first run stops right after ada's invitation."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.gadget = world.fake.add_repo(world.org, "gadget")
        self.ada = world.fake.add_user("ada")
        self.bo = world.fake.add_user("bo")

    async def build(self, clock: MockClock) -> None:
        await merge(self.world, clock, self.world.contributor, self.world.repo)
        await merge(self.world, clock, self.ada, self.gadget)
        await merge(self.world, clock, self.bo, self.gadget)


async def test_a_run_failing_half_way_resumes_without_inviting_anyone_twice(
    world: World, clock: MockClock
) -> None:
    await Resumable(world).build(clock)

    def fail_after_ada(progress: Progress) -> None:
        if progress.login == "ada":
            world.fake.inject_fault("POST", "/orgs/*/invitations", kind="server_error", times=20)

    with trio.fail_after(10 * MINUTE), pytest.raises(ServerError):
        await backfill(
            world.app,
            world.store,
            "octo-org",
            plan=BackfillPlan(),
            clock=world.now,
            on_progress=fail_after_ada,
        )
    assert sorted(world.invitees()) == ["ada", "zeke"]
    world.fake.faults.clear()
    first_run = len(world.fake.requests)

    summary = await run(world)
    second_run = world.fake.requests[first_run:]
    assert sorted(world.invitees()) == ["ada", "bo", "zeke"]
    assert welcomed(world) == {"ada": 1, "bo": 1, "zeke": 1}
    paths = {(r.method, r.path) for r in second_run}
    assert ("GET", "/repos/octo-org/widget/pulls") not in paths  # finished: not listed again
    assert "ada" not in {login for login, _ in summary.people.values()}  # handled before it failed
    assert (summary.repositories_done_before, summary.repositories) == (1, 1)
    assert summary.logins(Outcome.INVITED) == ["bo"]


async def test_a_cancelled_run_resumes_without_inviting_anyone_twice(
    world: World, clock: MockClock
) -> None:
    await Resumable(world).build(clock)
    with trio.CancelScope() as scope:

        def cancel_after_ada(progress: Progress) -> None:
            if progress.login == "ada":
                scope.cancel()

        await backfill(
            world.app,
            world.store,
            "octo-org",
            plan=BackfillPlan(),
            clock=world.now,
            on_progress=cancel_after_ada,
        )
    assert scope.cancelled_caught
    assert sorted(world.invitees()) == ["ada", "zeke"]

    summary = await run(world)
    assert sorted(world.invitees()) == ["ada", "bo", "zeke"]
    assert welcomed(world) == {"ada": 1, "bo": 1, "zeke": 1}
    assert summary.repositories_done_before == 1
    assert summary.logins(Outcome.INVITED) == ["bo"]


async def test_restart_walks_finished_repositories_again_and_invites_nobody_twice(
    world: World, clock: MockClock
) -> None:
    await merge(world, clock, world.contributor, world.repo)
    await run(world)
    summary = await run(world, restart=True)
    assert world.invitees() == ["zeke"]
    assert len(welcomes(world)) == 1
    assert (summary.repositories, summary.logins(Outcome.ALREADY_INVITED)) == (1, ["zeke"])


async def test_a_run_after_a_finished_one_walks_everything_again(
    world: World, clock: MockClock
) -> None:
    await merge(world, clock, world.contributor, world.repo)
    await run(world)
    ada = world.fake.add_user("ada")
    await merge(world, clock, ada, world.repo)  # merged while the bot was down again
    summary = await run(world)
    assert sorted(world.invitees()) == ["ada", "zeke"]
    assert (summary.repositories_done_before, summary.logins(Outcome.INVITED)) == (0, ["ada"])


async def test_an_unfinished_run_with_another_since_is_not_carried_on(
    world: World, clock: MockClock
) -> None:
    await Resumable(world).build(clock)
    with trio.CancelScope() as scope:
        await backfill(
            world.app,
            world.store,
            "octo-org",
            plan=BackfillPlan(),
            clock=world.now,
            on_progress=lambda progress: scope.cancel() if progress.login == "ada" else None,
        )
    since = dt.datetime.fromtimestamp(world.clock() - DAY, dt.UTC)
    summary = await run(world, since=since)
    assert sorted(world.invitees()) == ["ada", "bo", "zeke"]
    assert (summary.repositories_done_before, summary.repositories) == (0, 2)


async def test_a_wider_since_than_the_finished_run_walks_the_repository_again(
    world: World, clock: MockClock
) -> None:
    await merge(world, clock, world.contributor, world.repo)
    clock.jump(DAY)
    since = dt.datetime.fromtimestamp(world.clock(), dt.UTC)
    ada = world.fake.add_user("ada")
    await merge(world, clock, ada, world.repo)
    await run(world, since=since)
    assert world.invitees() == ["ada"]
    summary = await run(world)
    assert sorted(world.invitees()) == ["ada", "zeke"]
    assert summary.repositories == 1
