"""Marked comments: posted at most once, found again only among bots' comments, 404s retried briefly."""

from __future__ import annotations

import pytest
import trio
from trio.testing import MockClock

from snekomatic.features import MissingPermission
from snekomatic.features._comments import (
    ISSUES_PERMISSION,
    NOT_FOUND_RETRY_DELAYS,
    retry_not_found,
)
from snekomatic.gh.comments import marker_comment
from snekomatic.gh.errors import NotFound, ServerError
from tests.features.conftest import World

MINUTE = 60


class Flaky:
    """Raises ``error`` on the first ``failures`` calls, then answers "found"."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or NotFound(404, "Not Found")
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "found"


async def test_a_404_is_retried_briefly_until_the_object_appears(
    autojump_clock: MockClock,
) -> None:
    call = Flaky(failures=2)
    with trio.fail_after(MINUTE):
        assert await retry_not_found(call) == "found"
    assert call.calls == 3
    assert trio.current_time() == sum(NOT_FOUND_RETRY_DELAYS[:2])


async def test_a_lasting_404_is_raised_after_a_few_seconds(autojump_clock: MockClock) -> None:
    call = Flaky(failures=100)
    with trio.fail_after(MINUTE), pytest.raises(NotFound):
        await retry_not_found(call)
    assert call.calls == len(NOT_FOUND_RETRY_DELAYS) + 1
    assert trio.current_time() == sum(NOT_FOUND_RETRY_DELAYS) < 5


async def test_other_errors_are_not_retried_here(autojump_clock: MockClock) -> None:
    call = Flaky(failures=1, error=ServerError(502, "Bad Gateway"))
    with trio.fail_after(MINUTE), pytest.raises(ServerError):
        await retry_not_found(call)
    assert (call.calls, trio.current_time()) == (1, 0)


async def test_a_person_quoting_the_marker_does_not_suppress_the_welcome(
    world: World, clock: MockClock
) -> None:
    pr = world.fake.open_pull_request(world.repo, author=world.contributor)
    marker = marker_comment(f"invite:{world.org.account.id}:{world.contributor.id}")
    world.fake.create_comment(world.repo, pr.number, author=world.contributor, body=marker)
    delivery = await world.fake.merge_pull_request(pr, merged_by=world.maintainer)
    with trio.fail_after(MINUTE):
        await world.dispatch(delivery)
    authors = [c.author.login for c in world.fake.comments_on(world.repo, pr.number)]
    assert authors == ["zeke", world.fake.bot.login]
    assert await world.state_of(world.contributor) == "commented"


async def test_missing_issues_permission_stops_before_the_comment(
    world: World, clock: MockClock
) -> None:
    del world.installation.permissions["issues"]
    pr, delivery = await world.merge(world.contributor)
    with trio.fail_after(MINUTE), pytest.raises(ExceptionGroup) as failed:
        await world.dispatch(delivery)
    (missing,) = failed.value.subgroup(MissingPermission).exceptions  # type: ignore[union-attr]
    assert isinstance(missing, MissingPermission)
    assert (missing.permission, missing.account) == (ISSUES_PERMISSION, "octo-org/widget")
    assert (world.invitees(), world.comments(pr)) == (["zeke"], [])
    assert await world.state_of(world.contributor) == "invited"
