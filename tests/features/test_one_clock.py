"""The features stamp the store's rows with the clock they are given, the service's: the deferred
sweep and every other reader of those rows compare them on that clock (the database's in ``serve``),
not on this machine's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import trio
from trio.testing import MockClock

from tests.features.conftest import World

# Hours away from the wall clock the fake GitHub and the app share: a row stamped from any other
# clock would not carry it.
DATABASE_NOW = dt.datetime(2031, 5, 4, 3, 2, 1, tzinfo=dt.UTC)


@pytest.fixture
def handler_clock() -> Callable[[], dt.datetime]:
    return lambda: DATABASE_NOW


async def test_a_handlers_invitation_row_is_stamped_with_the_injected_clock(
    world: World, clock: MockClock
) -> None:
    _, delivery = await world.merge(world.contributor)

    with trio.fail_after(60):
        await world.dispatch(delivery)

    invitation = await world.invitation(world.contributor)
    assert invitation is not None
    assert invitation.state == "commented"
    assert (invitation.updated_at, invitation.invited_at, invitation.commented_at) == (
        DATABASE_NOW,
        DATABASE_NOW,
        DATABASE_NOW,
    )
    assert abs(world.now() - DATABASE_NOW) > dt.timedelta(days=365)  # not the wall clock by chance
