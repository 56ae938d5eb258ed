"""GitHub's invitation rate limit: invitations are deferred, the organization paused for 24 h, and
``send_deferred_invitations`` sends them afterwards; it also resumes invitations left half-way."""

from __future__ import annotations

import datetime as dt

import pytest
import trio
from trio.testing import MockClock

from snekomatic.features import send_deferred_invitations
from snekomatic.store import run_sync
from tests.features.conftest import World

MINUTE = 60
HOUR = 3600
DAY = 24 * HOUR


def org_calls(world: World) -> int:
    return len(world.fake.requests_to("*", "/orgs/*"))


async def defer_contributor(world: World) -> None:
    """Merge the contributor's PR while GitHub refuses every invitation as over the limit."""
    world.fake.invitation_daily_limit = 0
    _, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)


async def test_over_the_invitation_limit_defers_and_pauses_the_org_without_failing(
    world: World,
    clock: MockClock,
) -> None:
    await defer_contributor(world)
    invitation = await world.invitation(world.contributor)
    assert invitation is not None
    assert (invitation.state, invitation.last_error) == ("deferred", "over-rate-limit")
    assert (world.invitees(), world.fake.comments_on(world.repo, 1)) == ([], [])
    paused_until = await run_sync(
        world.store.org_throttled_until, world.org.account.id, now=world.now()
    )
    assert paused_until is not None
    assert dt.timedelta(hours=23, minutes=59) < paused_until - world.now() <= dt.timedelta(days=1)


async def test_while_paused_new_contributors_are_deferred_without_calling_github(
    world: World,
    clock: MockClock,
) -> None:
    await defer_contributor(world)
    newcomer = world.fake.add_user("ada")
    _, delivery = await world.merge(newcomer)
    calls_before = org_calls(world)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    assert org_calls(world) == calls_before
    assert await world.state_of(newcomer) == "deferred"


async def test_deferred_invitations_wait_while_the_pause_lasts(
    world: World, clock: MockClock
) -> None:
    await defer_contributor(world)
    world.fake.invitation_daily_limit = 50
    await trio.sleep(DAY - HOUR)
    with trio.fail_after(MINUTE):
        advanced = await send_deferred_invitations(world.app, world.store, now=world.now())
    assert (advanced, world.invitees()) == (0, [])
    assert await world.state_of(world.contributor) == "deferred"


async def test_deferred_invitations_are_sent_once_the_pause_is_over(
    world: World, clock: MockClock
) -> None:
    await defer_contributor(world)
    newcomer = world.fake.add_user("ada")
    second_pr, delivery = await world.merge(newcomer)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    world.fake.invitation_daily_limit = 50
    await trio.sleep(DAY + 1)
    with trio.fail_after(MINUTE):
        advanced = await send_deferred_invitations(world.app, world.store, now=world.now())
    assert advanced == 2
    assert sorted(world.invitees()) == ["ada", "zeke"]
    (first_comment,) = world.comments(world.fake.pulls[(world.repo.id, 1)])
    (second_comment,) = world.comments(second_pr)
    assert "@zeke" in first_comment and "@ada" in second_comment
    assert await world.state_of(world.contributor) == await world.state_of(newcomer) == "commented"


async def test_sending_deferred_invitations_twice_sends_each_once(
    world: World, clock: MockClock
) -> None:
    await defer_contributor(world)
    world.fake.invitation_daily_limit = 50
    await trio.sleep(DAY + 1)
    with trio.fail_after(MINUTE):
        await send_deferred_invitations(world.app, world.store, now=world.now())
        advanced = await send_deferred_invitations(world.app, world.store, now=world.now())
    assert (advanced, world.invitees()) == (0, ["zeke"])
    assert len(world.fake.comments_on(world.repo, 1)) == 1


async def test_still_over_the_limit_after_the_pause_defers_again(
    world: World, clock: MockClock
) -> None:
    await defer_contributor(world)
    await trio.sleep(DAY + 1)
    with trio.fail_after(MINUTE):
        await send_deferred_invitations(world.app, world.store, now=world.now())
    assert world.invitees() == []
    assert await world.state_of(world.contributor) == "deferred"
    assert await run_sync(world.store.org_throttled_until, world.org.account.id, now=world.now())


async def test_invitation_left_half_way_is_finished_by_the_sweep(
    world: World, clock: MockClock
) -> None:
    # The process died right after inviting, and the delivery was given up: only the sweep is left.
    pr, delivery = await world.merge(world.contributor)
    world.store.crash_before = "invited"
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup):
        await world.dispatch(delivery)
    assert await world.state_of(world.contributor) == "inviting"
    await trio.sleep(2 * HOUR)
    with trio.fail_after(MINUTE):
        advanced = await send_deferred_invitations(world.app, world.store, now=world.now())
    assert (advanced, world.invitees(), len(world.comments(pr))) == (1, ["zeke"], 1)
    assert await world.state_of(world.contributor) == "commented"


async def test_recent_in_progress_invitations_are_left_to_their_delivery(
    world: World, clock: MockClock
) -> None:
    pr, delivery = await world.merge(world.contributor)
    world.store.crash_before = "invited"
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup):
        await world.dispatch(delivery)
    with trio.fail_after(MINUTE):
        advanced = await send_deferred_invitations(world.app, world.store, now=world.now())
    assert (advanced, world.comments(pr)) == (0, [])
    assert await world.state_of(world.contributor) == "inviting"
