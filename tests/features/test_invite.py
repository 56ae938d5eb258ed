"""Invite after the first merged pull request, end to end: fake GitHub, real GitHubApp, real Store."""

from __future__ import annotations

import pytest
import trio
from structlog.testing import capture_logs
from trio.testing import MockClock

from snekomatic.features import MissingPermission
from snekomatic.features.invite import MEMBERS_PERMISSION
from snekomatic.gh.errors import ServerError
from snekomatic.store import Invitation, run_sync
from tests.features.conftest import StoreCrash, World

MINUTE = 60


def org_calls(world: World) -> int:
    return len(world.fake.requests_to("*", "/orgs/*"))


async def test_new_contributor_gets_one_invitation_and_one_welcome_comment(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert world.invitees() == ["zeke"]
    (comment,) = world.comments(pr)
    assert "@zeke" in comment and "octo-org" in comment
    invitation = await world.invitation(world.contributor)
    assert invitation is not None
    assert (invitation.state, invitation.pr_url) == (
        "commented",
        "https://github.com/octo-org/widget/pull/1",
    )
    assert invitation.comment_id == world.fake.comments_on(pr.repo, pr.number)[0].id


async def test_invite_flow_calls_only_the_allowed_endpoints(world: World, clock: MockClock) -> None:
    _, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    called = {(r.method, r.path) for r in world.fake.requests}
    assert called == {
        ("POST", f"/app/installations/{world.installation.id}/access_tokens"),
        ("GET", "/orgs/octo-org/memberships/zeke"),
        ("POST", "/orgs/octo-org/invitations"),
        ("GET", "/repos/octo-org/widget/issues/1/comments"),
        ("POST", "/repos/octo-org/widget/issues/1/comments"),
    }
    assert world.fake.requests_to("POST", "/orgs/octo-org/invitations")[0].json == {
        "invitee_id": world.contributor.id
    }


async def test_closed_without_merging_does_nothing(world: World, clock: MockClock) -> None:
    pr, delivery = await world.close_without_merging(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert (world.invitees(), world.comments(pr), world.fake.requests) == ([], [], [])
    assert await world.state_of(world.contributor) is None


async def test_bot_author_is_not_invited(world: World, clock: MockClock) -> None:
    bot = world.fake.add_user("helper[bot]", type="Bot")
    pr, delivery = await world.merge(bot)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert (world.invitees(), world.comments(pr), world.fake.requests) == ([], [], [])
    assert await run_sync(world.store.get_invitation, world.org.account.id, bot.id) is None


@pytest.mark.parametrize(
    "membership", ["active", "pending"], ids=["active-member", "pending-invitee"]
)
async def test_existing_member_or_invitee_gets_no_invitation_and_no_comment(
    world: World, clock: MockClock, membership: str
) -> None:
    world.fake.add_member(world.org, world.contributor, state=membership)  # type: ignore[arg-type]
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert (world.invitees(), world.comments(pr)) == ([], [])
    assert await world.state_of(world.contributor) == "member"


def recorded(world: World, state: str) -> Invitation:
    return Invitation(
        org_id=world.org.account.id,
        user_id=world.contributor.id,
        org_login="octo-org",
        user_login="zeke",
        state=state,
        updated_at=world.now(),
    )


@pytest.mark.parametrize("state", ["member", "commented"])
async def test_already_recorded_contributor_is_left_alone(
    world: World, clock: MockClock, state: str
) -> None:
    await run_sync(world.store.insert_invitation, recorded(world, state))
    pr, delivery = await world.merge(world.contributor)
    asked: list[int] = []
    world.store.org_throttled_until = lambda org_id, **kw: asked.append(org_id)  # type: ignore[method-assign]
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert (world.invitees(), world.comments(pr), org_calls(world)) == ([], [], 0)
    assert await world.state_of(world.contributor) == state
    assert asked == []  # a finished invitation costs one read of the store, not two


async def test_recorded_invitation_without_comment_gets_only_the_comment(
    world: World, clock: MockClock
) -> None:
    await run_sync(world.store.insert_invitation, recorded(world, "invited"))
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert (world.invitees(), org_calls(world)) == ([], 0)
    assert len(world.comments(pr)) == 1
    assert await world.state_of(world.contributor) == "commented"


async def test_redelivered_webhook_sends_no_second_invitation_or_comment(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
        await world.dispatch(delivery)
    assert world.invitees() == ["zeke"]
    assert len(world.comments(pr)) == 1
    assert await world.state_of(world.contributor) == "commented"


async def test_second_merged_pull_request_sends_no_second_invitation_or_comment(
    world: World,
    clock: MockClock,
) -> None:
    first, delivery = await world.merge(world.contributor)
    second, second_delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
        await world.dispatch(second_delivery)
    assert world.invitees() == ["zeke"]
    assert (len(world.comments(first)), world.comments(second)) == (1, [])
    assert await world.state_of(world.contributor) == "commented"


async def test_failed_comment_is_retried_without_a_second_invitation(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    # The first attempt and the client's three retries all fail.
    world.fake.inject_fault("POST", "/repos/*/issues/*/comments", kind="server_error", times=4)
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup) as failed:
        await world.dispatch(delivery)
    assert failed.group_contains(ServerError)
    assert (world.invitees(), world.comments(pr)) == (["zeke"], [])
    assert await world.state_of(world.contributor) == "invited"

    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert world.invitees() == ["zeke"]
    assert len(world.comments(pr)) == 1
    assert await world.state_of(world.contributor) == "commented"


async def test_crash_after_the_invitation_before_recording_it_invites_once(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    world.store.crash_before = "invited"
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup) as failed:
        await world.dispatch(delivery)
    assert failed.group_contains(StoreCrash)
    assert (world.invitees(), world.comments(pr)) == (["zeke"], [])
    assert await world.state_of(world.contributor) == "inviting"

    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert world.invitees() == ["zeke"]
    assert len(world.comments(pr)) == 1
    assert await world.state_of(world.contributor) == "commented"


async def test_crash_after_the_comment_before_recording_it_comments_once(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    world.store.crash_before = "commented"
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup):
        await world.dispatch(delivery)
    assert await world.state_of(world.contributor) == "invited"

    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert (world.invitees(), len(world.comments(pr))) == (["zeke"], 1)
    assert await world.state_of(world.contributor) == "commented"


async def test_crash_before_recording_the_intent_to_invite_invites_once(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    world.store.crash_before = "inviting"
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup):
        await world.dispatch(delivery)
    assert (world.invitees(), await world.state_of(world.contributor)) == ([], "checking")

    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert (world.invitees(), len(world.comments(pr))) == (["zeke"], 1)
    assert await world.state_of(world.contributor) == "commented"


async def test_already_a_member_refusal_is_recorded_without_a_comment(
    world: World, clock: MockClock
) -> None:
    # A maintainer adds the contributor by hand between our membership check and our invitation.
    def add_by_hand(invitation: Invitation) -> None:
        if invitation.state == "inviting":
            world.fake.add_member(world.org, world.contributor)

    world.store.after_update = add_by_hand
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert world.fake.requests_to("POST", "/orgs/octo-org/invitations")[0].json is not None
    assert (world.invitees(), world.comments(pr)) == ([], [])
    invitation = await world.invitation(world.contributor)
    assert invitation is not None
    assert (invitation.state, invitation.last_error) == ("member", "already-member")


async def test_user_owned_repository_is_skipped_with_a_log_line(
    world: World, clock: MockClock
) -> None:
    owner = world.fake.add_user("solo")
    dotfiles = world.fake.add_repo(owner, "dotfiles")
    world.fake.install(owner)
    with capture_logs() as logs:
        pr, delivery = await world.merge(world.contributor, dotfiles)
        with trio.fail_after(MINUTE):
            await world.dispatch(delivery)
    assert (world.fake.requests, world.comments(pr)) == ([], [])
    skipped = [line for line in logs if line["event"] == "invite skipped"]
    assert [line["reason"] for line in skipped] == ["no-organization"]


async def test_missing_members_permission_is_reported_not_retried(
    world: World, clock: MockClock
) -> None:
    del world.installation.permissions["members"]
    pr, delivery = await world.merge(world.contributor)
    with capture_logs() as logs, trio.fail_after(MINUTE), pytest.raises(ExceptionGroup) as failed:
        await world.dispatch(delivery)
    (missing,) = failed.value.subgroup(MissingPermission).exceptions  # type: ignore[union-attr]
    assert isinstance(missing, MissingPermission)
    assert missing.permission == MEMBERS_PERMISSION == "organization members: read & write"
    (line,) = [entry for entry in logs if entry["event"] == "missing permission"]
    assert (line["log_level"], line["permission"]) == ("error", MEMBERS_PERMISSION)
    assert len(world.fake.requests_to("GET", "/orgs/*")) == 1  # asked once, not retried
    assert (world.invitees(), world.comments(pr)) == ([], [])
    assert await world.state_of(world.contributor) == "checking"


@pytest.mark.parametrize("count", [2, 10])
async def test_merges_by_one_newcomer_at_once_invite_and_comment_once(
    world: World, clock: MockClock, count: int
) -> None:
    # Issue 9: ten merged-PR deliveries for one new user, processed together, gave 1 invitation and
    # 4 comments. Tasks that found the invitation "invited" each looked for the marked comment,
    # queued behind the installation's one-write-per-second pacing, then each posted. Here the others
    # arrive the moment the first records "invited", and its first look for the comment fails once,
    # so they all look while it backs off.
    (first_pr, first), *others = [await world.merge(world.contributor) for _ in range(count)]
    world.fake.inject_fault("GET", "/repos/*/issues/*/comments", kind="server_error", times=1)
    token = trio.lowlevel.current_trio_token()

    with trio.fail_after(MINUTE):
        async with trio.open_nursery() as nursery:

            def start_the_others(invitation: Invitation) -> None:
                if invitation.state == "invited":
                    for _, delivery in others:
                        trio.from_thread.run_sync(
                            nursery.start_soon, world.dispatch, delivery, trio_token=token
                        )

            world.store.after_update = start_the_others
            nursery.start_soon(world.dispatch, first)
    assert world.invitees() == ["zeke"]
    assert len(world.fake.requests_to("POST", "/orgs/octo-org/invitations")) == 1
    assert len(world.fake.requests_to("POST", "/repos/*/issues/*/comments")) == 1
    assert len(world.comments(first_pr)) == 1
    assert await world.state_of(world.contributor) == "commented"


async def test_another_delivery_leaves_a_crashed_invitation_to_its_own_retry(
    world: World, clock: MockClock
) -> None:
    first_pr, first = await world.merge(world.contributor)
    second_pr, second = await world.merge(world.contributor)
    world.store.crash_before = "commented"
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup):
        await world.dispatch(first)
    posted = len(world.fake.requests_to("POST", "/repos/*/issues/*/comments"))

    with trio.fail_after(MINUTE), capture_logs() as logs:
        await world.dispatch(second)
    assert len(world.fake.requests_to("POST", "/repos/*/issues/*/comments")) == posted
    assert "invitation is being advanced by another task" in [e["event"] for e in logs]

    with trio.fail_after(MINUTE):
        await world.dispatch(first)
    assert (world.invitees(), len(world.comments(first_pr)), world.comments(second_pr)) == (
        ["zeke"],
        1,
        [],
    )
    invitation = await world.invitation(world.contributor)
    assert invitation is not None
    assert (invitation.state, invitation.claimed_by) == ("commented", None)
