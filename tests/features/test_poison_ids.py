"""Events whose ids no 64-bit column holds are skipped as malformed, never failed at every retry."""

from __future__ import annotations

import copy

import trio
from trio.testing import MockClock

from snekomatic.gh.testing import build_webhook_request
from tests.features.conftest import World

MINUTE = 60


async def test_a_merged_pull_request_by_a_user_id_of_2_to_the_64_is_skipped(
    world: World, clock: MockClock
) -> None:
    _, delivery = await world.merge(world.contributor)
    payload = copy.deepcopy(delivery.payload)
    payload["pull_request"]["user"]["id"] = 2**64
    headers, body = build_webhook_request(
        "pull_request", payload, secret=world.fake.webhook_secret, delivery_id="poison"
    )
    with trio.fail_after(MINUTE):
        await world.app.dispatch(world.app.parse_webhook(headers, body))  # raises nothing
    assert world.invitees() == []
    assert await world.invitation(world.contributor) is None
