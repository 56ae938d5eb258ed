"""Fixtures for the features' end-to-end tests: a served fake GitHub, a real GitHubApp, a real Store.

The fake, the app and its clock are ``github_world`` (tests/conftest.py, on
:func:`snekomatic.gh.testing.open_github_world`). Deliveries the fake logs (``merge_pull_request``,
``add_comment``, ``emit_webhook``) are signed with the fake's webhook secret, parsed by the app as a
web layer would, and dispatched.

Time: a ``MockClock`` that jumps only after 200 ms with every task blocked, so real sockets and the
store's threads do not trigger jumps while the pacer's 1 s between writes and the retry backoffs cost
no real time. pytest-trio only runs a test on a clock the test itself asks for: every test using
``world`` must also take the ``clock`` fixture (the ``world`` fixture checks). The fake, the app and the
features share one wall clock, the world's :class:`~snekomatic.gh.testing.FakeClock`: ``world.now()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio
import trio.testing

from snekomatic.features import FeatureOptions, register_features
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.testing import (
    FakeClock,
    FakeDelivery,
    FakeGitHub,
    FakeInstallation,
    FakeOrg,
    FakePullRequest,
    FakeRepo,
    FakeUser,
    GitHubWorld,
    pull_request_payload,
)
from snekomatic.store import Invitation, Store, run_sync


class CrashingStore:
    """The real store, except that chosen moves of an invitation crash or trigger something.

    - ``crash_before``: the next ``update_invitation`` to this state raises ``StoreCrash`` without
      writing, as if the process died right before recording it.
    - ``after_update``: called with each invitation once its update is written (to act as a concurrent
      maintainer at exactly that moment).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.crash_before: str | None = None
        self.after_update: Callable[[Invitation], None] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def update_invitation(
        self, invitation: Invitation, *, expected_state: str, claimant: str | None = None
    ) -> bool:
        if self.crash_before == invitation.state:
            self.crash_before = None
            raise StoreCrash(f"crashed before recording {invitation.state!r}")
        updated = self.store.update_invitation(
            invitation, expected_state=expected_state, claimant=claimant
        )
        if updated and self.after_update is not None:
            self.after_update(invitation)
        return updated


class StoreCrash(Exception):
    """The simulated crash of :class:`CrashingStore`."""


@dataclass
class World:
    """An organization with the app installed, a repository, a maintainer and an outside contributor."""

    github: GitHubWorld
    store: CrashingStore
    repo: FakeRepo
    maintainer: FakeUser
    contributor: FakeUser
    options: FeatureOptions = field(default_factory=FeatureOptions)

    @property
    def fake(self) -> FakeGitHub:
        return self.github.fake

    @property
    def app(self) -> GitHubApp:
        return self.github.app

    @property
    def org(self) -> FakeOrg:
        return self.github.org

    @property
    def installation(self) -> FakeInstallation:
        return self.github.installation

    @property
    def clock(self) -> FakeClock:
        assert isinstance(self.github.clock, FakeClock)
        return self.github.clock

    def now(self) -> dt.datetime:
        """The wall clock the fake, the app and the features share, as a datetime."""
        return self.clock.now()

    async def dispatch(self, delivery: FakeDelivery | None) -> None:
        """Sign, parse and dispatch a delivery the fake logged, as the web layer and a worker would."""
        assert delivery is not None, "the app is not installed where the event happened"
        await self.github.dispatch(delivery)

    async def merge(
        self, author: FakeUser, repo: FakeRepo | None = None
    ) -> tuple[FakePullRequest, FakeDelivery]:
        """Open a pull request by ``author`` and merge it; returns it and the webhook GitHub sent."""
        pr = self.fake.open_pull_request(repo or self.repo, author=author)
        delivery = await self.fake.merge_pull_request(pr, merged_by=self.maintainer)
        assert delivery is not None
        return pr, delivery

    async def close_without_merging(self, author: FakeUser) -> tuple[FakePullRequest, FakeDelivery]:
        """Open a pull request by ``author`` and close it unmerged; it and the webhook GitHub sent."""
        pr = self.fake.open_pull_request(self.repo, author=author)
        pr.issue.state = "closed"
        payload = pull_request_payload(
            pr,
            action="closed",
            sender=self.maintainer,
            installation=self.installation,
            api_url=self.fake.base_url or "",
        )
        delivery = await self.fake.emit_webhook(
            "pull_request", payload, installation=self.installation, repo=self.repo
        )
        assert delivery is not None
        return pr, delivery

    async def invitation(self, user: FakeUser) -> Invitation | None:
        return await run_sync(self.store.store.get_invitation, self.org.account.id, user.id)

    async def state_of(self, user: FakeUser) -> str | None:
        invitation = await self.invitation(user)
        return None if invitation is None else invitation.state

    def invitees(self) -> list[str]:
        return [invitation.invitee.login for invitation in self.fake.invitations_for(self.org)]

    def comments(self, pr: FakePullRequest) -> list[str]:
        return [comment.body for comment in self.fake.comments_on(pr.repo, pr.number)]


@pytest.fixture
def autojump_threshold() -> float:
    # The store's threads may take longer than a socket to answer.
    return 0.2


@pytest.fixture
def clock(loopback_clock: trio.testing.MockClock) -> trio.testing.MockClock:
    return loopback_clock


@pytest.fixture
def options() -> FeatureOptions:
    return FeatureOptions()


@pytest.fixture
def handler_clock(world_clock: FakeClock) -> Callable[[], dt.datetime]:
    """The clock the features stamp the store's rows with (in ``serve``, the database's): the
    world's."""
    return world_clock.now


@pytest.fixture
async def world(
    clock: trio.testing.MockClock,
    github_world: GitHubWorld,
    store: Store,
    options: FeatureOptions,
    handler_clock: Callable[[], dt.datetime],
) -> World:
    assert trio.lowlevel.current_clock() is clock, "the test must request the `clock` fixture"
    fake = github_world.fake
    maintainer = fake.add_user("maintainer")
    fake.add_member(github_world.org, maintainer)
    contributor = fake.add_user("zeke")
    repo = fake.add_repo(github_world.org, "widget")
    crashing = CrashingStore(store)
    register_features(github_world.app, crashing, options=options, clock=handler_clock)
    return World(github_world, crashing, repo, maintainer, contributor, options)
