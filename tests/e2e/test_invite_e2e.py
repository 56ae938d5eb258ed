"""Invite after the first merged pull request, end to end: a real ``snekomatic serve`` process (SQLite
and PostgreSQL) and the fake GitHub sending webhooks and answering the bot's calls (issue 4, "Must show").

Every webhook comes from the fake acting as GitHub: merging a pull request, closing one unmerged,
redelivering from its delivery log. Negative cases wait for the delivery's row to be finished
(``done``/``dead``) before asserting that nothing happened.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path

import pytest
import trio

from snekomatic.gh.testing import FakeInstallation, FakeRepo
from snekomatic.store import Invitation, create_store_engine
from tests.e2e.conftest import (
    Deployment,
    World,
    hosted_github,
    start_serve,
    stop_serve,
    wait_until,
)

FLOW_SECONDS = 20  # one delivery, its API calls (paced 1 s between writes) and a poll or two


async def test_new_contributor_gets_one_invitation_and_one_comment_naming_them_and_the_org(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert await deployment.invitees(world) == [world.contributor.login]
    (comment,) = await deployment.comments(pr)
    assert f"@{world.contributor.login}" in comment
    assert world.org.account.login in comment
    invitation = await deployment.invitation(world)
    assert invitation is not None and invitation.state == "commented"


async def org_calls_since(deployment: Deployment, world: World, start: int) -> list[str]:
    calls = await deployment.requests_since(start)
    prefix = f"/orgs/{world.org.account.login}/"
    return [f"{r.method} {r.path}" for r in calls if r.path.startswith(prefix)]


async def test_pull_request_closed_without_merging_does_nothing(deployment: Deployment) -> None:
    world = await deployment.world()
    start = await deployment.request_count()
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.close_without_merging(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert (await deployment.invitees(world), await deployment.comments(pr)) == ([], [])
    assert await org_calls_since(deployment, world, start) == []
    assert await deployment.invitation(world) is None


async def test_bot_author_is_not_invited(deployment: Deployment) -> None:
    world = await deployment.world()
    bot = await deployment.user("helper[bot]", type="Bot")
    start = await deployment.request_count()
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, bot)
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert (await deployment.invitees(world), await deployment.comments(pr)) == ([], [])
    assert await org_calls_since(deployment, world, start) == []
    assert await deployment.invitation(world, bot) is None


@pytest.mark.parametrize(
    "membership", ["active", "pending"], ids=["active-member", "pending-invitee"]
)
async def test_member_or_pending_invitee_gets_no_invitation_and_no_comment(
    deployment: Deployment, membership: str
) -> None:
    world = await deployment.world()
    await deployment.host.run(
        deployment.fake.add_member,
        world.org,
        world.contributor,
        state=membership,  # type: ignore[arg-type]
    )
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert (await deployment.invitees(world), await deployment.comments(pr)) == ([], [])
    invitation = await deployment.invitation(world)
    assert invitation is not None and invitation.state == "member"


@pytest.mark.parametrize("state", ["member", "commented"])
async def test_contributor_already_recorded_is_left_alone(
    deployment: Deployment, state: str
) -> None:
    world = await deployment.world()
    recorded = Invitation(
        org_id=world.org.account.id,
        user_id=world.contributor.id,
        org_login=world.org.account.login,
        user_login=world.contributor.login,
        state=state,
        updated_at=dt.datetime.now(dt.UTC),
    )
    assert await trio.to_thread.run_sync(deployment.store.insert_invitation, recorded)
    start = await deployment.request_count()
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert (await deployment.invitees(world), await deployment.comments(pr)) == ([], [])
    assert await org_calls_since(deployment, world, start) == []
    invitation = await deployment.invitation(world)
    assert invitation is not None and invitation.state == state


async def test_redelivered_webhook_sends_no_second_invitation_or_comment(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
        attempt = await deployment.redeliver(delivery)
        assert 200 <= attempt.status_code < 300  # accepted, as a duplicate
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert await deployment.delivery_status(delivery.guid) == ("done", 1)  # never run again
    assert await deployment.invitees(world) == [world.contributor.login]
    assert len(await deployment.comments(pr)) == 1


async def test_second_merged_pull_request_sends_no_second_invitation_or_comment(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    with trio.fail_after(FLOW_SECONDS):
        first, delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(delivery.guid) == "done"
        second, second_delivery = await deployment.merge(world, world.contributor)
        assert await deployment.wait_finished(second_delivery.guid) == "done"
    assert await deployment.invitees(world) == [world.contributor.login]
    assert len(await deployment.comments(first)) == 1
    assert await deployment.comments(second) == []


async def test_failed_comment_is_retried_by_the_worker_without_a_second_invitation(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    # The comment's first POST and the client's three retries all fail (502), after the invitation.
    comments = f"/repos/{world.repo.full_name}/issues/*/comments"
    await deployment.host.run(
        deployment.fake.inject_fault, "POST", comments, kind="server_error", times=4
    )
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, world.contributor)

        async def failed_once() -> bool:
            status = await deployment.delivery_status(delivery.guid)
            return status is not None and status[0] == "pending" and status[1] >= 1

        await wait_until(failed_once)
    assert (await deployment.invitees(world), await deployment.comments(pr)) == (
        [world.contributor.login],
        [],
    )
    invitation = await deployment.invitation(world)
    assert invitation is not None and invitation.state == "invited"

    await deployment.make_retry_due(delivery.guid)
    with trio.fail_after(FLOW_SECONDS):
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert await deployment.delivery_status(delivery.guid) == ("done", 2)
    assert await deployment.invitees(world) == [world.contributor.login]
    assert len(await deployment.comments(pr)) == 1
    invitation = await deployment.invitation(world)
    assert invitation is not None and invitation.state == "commented"


async def test_already_a_member_refusal_is_recorded_without_a_comment(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    fake = deployment.fake
    membership = f"/orgs/{world.org.account.login}/memberships/{world.contributor.login}"

    def added_by_hand() -> None:
        # A maintainer adds the contributor right after GitHub answered the bot's check with 404,
        # so the bot's invitation meets GitHub's 422 "already a part of this organization".
        if world.contributor.id not in world.org.members:
            fake.add_member(world.org, world.contributor)

    hook = ("GET", membership, added_by_hand)
    await deployment.host.run(deployment.host.hooks.before_answer.append, hook)
    try:
        with trio.fail_after(FLOW_SECONDS):
            pr, delivery = await deployment.merge(world, world.contributor)
            assert await deployment.wait_finished(delivery.guid) == "done"
    finally:
        await deployment.host.run(deployment.host.hooks.before_answer.remove, hook)
    refused = await deployment.host.run(
        lambda: [
            r.status
            for r in fake.requests
            if (r.method, r.path) == ("POST", f"/orgs/{world.org.account.login}/invitations")
        ]
    )
    assert refused == [422]
    assert (await deployment.invitees(world), await deployment.comments(pr)) == ([], [])
    invitation = await deployment.invitation(world)
    assert invitation is not None
    assert (invitation.state, invitation.last_error) == ("member", "already-member")


async def test_over_the_invitation_limit_defers_the_invitation_without_a_comment(
    deployment: Deployment,
) -> None:
    world = await deployment.world()
    fake = deployment.fake
    limit = fake.invitation_daily_limit
    await deployment.host.run(setattr, fake, "invitation_daily_limit", 0)
    try:
        with trio.fail_after(FLOW_SECONDS):
            pr, delivery = await deployment.merge(world, world.contributor)
            assert await deployment.wait_finished(delivery.guid) == "done"
    finally:
        await deployment.host.run(setattr, fake, "invitation_daily_limit", limit)
    assert (await deployment.invitees(world), await deployment.comments(pr)) == ([], [])
    invitation = await deployment.invitation(world)
    assert invitation is not None and invitation.state == "deferred"


async def test_repository_owned_by_a_user_is_skipped(deployment: Deployment) -> None:
    world = await deployment.world()
    owner = await deployment.user("solo")

    def install_on_user() -> tuple[FakeRepo, FakeInstallation]:
        repo = deployment.fake.add_repo(owner, "dotfiles")
        return repo, deployment.fake.install(owner)

    repo, installation = await deployment.host.run(install_on_user)
    start = await deployment.request_count()
    with trio.fail_after(FLOW_SECONDS):
        pr, delivery = await deployment.merge(world, world.contributor, repo)
        assert await deployment.wait_finished(delivery.guid) == "done"
    assert await deployment.comments(pr) == []
    calls = await deployment.requests_since(start)
    touching = [
        f"{r.method} {r.path}"
        for r in calls
        if owner.login in r.path or f"/installations/{installation.id}/" in r.path
    ]
    assert touching == []


async def test_delivery_accepted_before_a_crash_is_processed_at_start_up(
    empty_database: str, tmp_path: Path
) -> None:
    with hosted_github(empty_database) as (host, env):
        fake = host.fake
        # A serve without workers accepts (stores) the webhook and never acts on it...
        first = await trio.to_thread.run_sync(
            partial(start_serve, env, tmp_path, workers=0, log_name="first.log")
        )
        deployment = Deployment(
            host=host,
            serve=first,
            database=empty_database,
            engine=create_store_engine(empty_database),
        )
        try:
            await host.run(setattr, fake, "webhook_url", first.webhook_url)
            world = await deployment.world()
            with trio.fail_after(FLOW_SECONDS):
                pr, delivery = await deployment.merge(world, world.contributor)
            assert await deployment.delivery_status(delivery.guid) == ("pending", 0)
        finally:
            first.process.kill()  # ...and dies without warning
            await trio.to_thread.run_sync(first.process.wait)
        sent = await host.run(lambda: len(fake.deliveries))
        second = await trio.to_thread.run_sync(
            partial(start_serve, env, tmp_path, log_name="second.log")
        )
        try:
            with trio.fail_after(FLOW_SECONDS):
                assert await deployment.wait_finished(delivery.guid) == "done"
        finally:
            assert await trio.to_thread.run_sync(stop_serve, second) == 0
            deployment.engine.dispose()
        assert await host.run(lambda: len(fake.deliveries)) == sent  # no new webhook was needed
        assert await deployment.invitees(world) == [world.contributor.login]
        assert len(await deployment.comments(pr)) == 1


async def test_ten_merges_by_one_newcomer_get_one_invitation_and_one_comment(
    deployment: Deployment,
) -> None:
    # Issue 9, as found from outside: ten merged-PR webhooks for one new user gave one invitation but
    # four comments: each delivery that found the invitation "invited" looked for the marked comment
    # and posted. Here the first delivery invites, then its look for the comment fails (with the
    # client's retries) so it waits for its own retry; nine more merges arrive meanwhile.
    world = await deployment.world()
    await deployment.host.run(
        deployment.fake.inject_fault,
        "GET",
        f"/repos/{world.org.account.login}/*/issues/*/comments",
        kind="server_error",
        times=4,  # the attempt and the client's three retries
    )

    others: list[str] = []

    async def merge_one() -> str:
        _, delivery = await deployment.merge(world, world.contributor)
        others.append(delivery.guid)
        return delivery.guid

    async def first_failed() -> bool:
        return await deployment.delivery_status(first) == ("pending", 1)

    with trio.fail_after(FLOW_SECONDS * 2):
        first = others.pop(others.index(await merge_one()))
        await wait_until(first_failed)
        async with trio.open_nursery() as nursery:
            for _ in range(9):
                nursery.start_soon(merge_one)
        for guid in others:
            assert await deployment.wait_finished(guid) == "done"
        await deployment.make_retry_due(first)
        assert await deployment.wait_finished(first) == "done"
    assert await deployment.invitees(world) == [world.contributor.login]
    prefix = f"/repos/{world.org.account.login}/"
    posted = [r for r in await deployment.requests_since(0) if r.method == "POST"]
    assert len([r for r in posted if r.path.startswith(prefix)]) == 1
    invitation = await deployment.invitation(world)
    assert invitation is not None and invitation.state == "commented"
