"""What the invite feature says it decided for a delivery, and why (the delivery's log line)."""

from __future__ import annotations

import pytest
import trio
from trio.testing import MockClock

from snekomatic.gh.testing import FakeDelivery
from snekomatic.logs import collecting_decisions
from snekomatic.store import run_sync
from tests.features.conftest import World
from tests.features.test_invite import recorded

MINUTE = 60


async def decided(world: World, delivery: FakeDelivery | None) -> list[str]:
    with collecting_decisions() as decisions, trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    return decisions


async def test_a_newcomer_is_invited_and_welcomed(world: World, clock: MockClock) -> None:
    pr, delivery = await world.merge(world.contributor)
    assert await decided(world, delivery) == [
        "invited (user=zeke, org=octo-org)",
        f"welcomed (pr=https://github.com/octo-org/widget/pull/{pr.number})",
    ]


async def test_a_second_merge_says_it_was_done_before(world: World, clock: MockClock) -> None:
    _, first = await world.merge(world.contributor)
    await decided(world, first)
    _, second = await world.merge(world.contributor)
    assert await decided(world, second) == ["not invited (reason=already invited and welcomed)"]


@pytest.mark.parametrize(
    ("membership", "reason"), [("active", "already a member"), ("pending", "invitation pending")]
)
async def test_a_member_or_invitee_is_not_invited(
    world: World, clock: MockClock, membership: str, reason: str
) -> None:
    world.fake.add_member(world.org, world.contributor, state=membership)  # type: ignore[arg-type]
    _, delivery = await world.merge(world.contributor)
    assert await decided(world, delivery) == [f"not invited (reason={reason})"]


async def test_a_bot_is_not_invited(world: World, clock: MockClock) -> None:
    _, delivery = await world.merge(world.fake.add_user("helper[bot]", type="Bot"))
    assert await decided(world, delivery) == ["not invited (reason=bot author)"]


async def test_a_pull_request_closed_without_merging_is_not_a_reason_to_invite(
    world: World, clock: MockClock
) -> None:
    _, delivery = await world.close_without_merging(world.contributor)
    assert await decided(world, delivery) == ["not invited (reason=not merged)"]


async def test_a_paused_organization_defers_the_invitation(world: World, clock: MockClock) -> None:
    until = recorded(world, "checking").updated_at.replace(year=2999)
    await run_sync(world.store.throttle_org, world.org.account.id, until=until)
    _, delivery = await world.merge(world.contributor)
    assert await decided(world, delivery) == [
        f"not invited yet (reason=organization paused until {until})"
    ]
