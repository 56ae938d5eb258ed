"""The redelivery sweep against the fake GitHub's delivery log, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from functools import partial

import pytest
import trio

from snekomatic.gh.app import GithubApp
from snekomatic.gh.testing import FakeGitHub, GitHubWorld
from snekomatic.inbox._queue import utc_now
from snekomatic.inbox._redelivery import SETTLING_TIME
from snekomatic.inbox._sweep import sweep_failed_deliveries
from snekomatic.runtime import serve_http
from snekomatic.store import Store, run_sync
from tests.store.builders import new_delivery


@pytest.fixture
def world_clock() -> Callable[[], float]:
    # The sweep's "now" is this machine's (utc_now): GitHub's delivery log keeps the same time.
    return time.time


class Receiver:
    """Where the fake sends webhooks: refuses them all while ``down``."""

    def __init__(self) -> None:
        self.down = True
        self.received: list[str] = []

    async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        assert scope["type"] == "http"
        headers = dict(scope["headers"])
        status = 503 if self.down else 202
        if not self.down:
            self.received.append(headers[b"x-github-delivery"].decode())
        await send({"type": "http.response.start", "status": status, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]


@pytest.fixture
async def world(
    github_world: GitHubWorld, nursery: trio.Nursery
) -> tuple[FakeGitHub, GithubApp, Receiver]:
    receiver = Receiver()
    [receiver_url] = await nursery.start(
        partial(serve_http, receiver, host="127.0.0.1", port=0)  # type: ignore[arg-type]
    )
    github_world.fake.webhook_url = f"{receiver_url}/webhook/github"
    return github_world.fake, github_world.app, receiver


def later() -> dt.datetime:
    """A sweep's "now" once the failed attempts have settled (see SETTLING_TIME)."""
    return utc_now() + SETTLING_TIME + dt.timedelta(seconds=5)


async def merge_prs(fake: FakeGitHub, count: int) -> list[str]:
    org = fake.add_org("acme")
    fake.install(org)
    repo = fake.add_repo(org, "widgets")
    author = fake.add_user("newcomer")
    guids = []
    for n in range(count):
        pr = fake.open_pull_request(repo, author=author, title=f"fix {n}")
        delivery = await fake.merge_pull_request(pr, merged_by=author)
        assert delivery is not None and delivery.status_code == 503
        guids.append(delivery.guid)
    return guids


async def test_each_failed_delivery_is_redelivered_once(
    world: tuple[FakeGitHub, GithubApp, Receiver], store: Store
) -> None:
    fake, app, receiver = world
    failed = await merge_prs(fake, 3)
    receiver.down = False
    with trio.fail_after(600):
        first = await sweep_failed_deliveries(app.app_client, store, owner="p1", now=later())
        second = await sweep_failed_deliveries(app.app_client, store, owner="p1", now=later())
    assert sorted(c.guid for c in first.requested) == sorted(failed)
    assert second.requested == [] and second.failed == []
    assert Counter(receiver.received) == Counter({guid: 1 for guid in failed})
    redeliveries = [d.guid for d in fake.deliveries if d.redelivery]
    assert sorted(redeliveries) == sorted(failed)


async def test_a_failed_delivery_already_in_the_inbox_is_not_asked_for(
    world: tuple[FakeGitHub, GithubApp, Receiver], store: Store
) -> None:
    fake, app, receiver = world
    [stored, lost] = await merge_prs(fake, 2)
    await run_sync(
        store.insert_deliveries, [new_delivery(stored)]
    )  # it reached us; GitHub timed out
    receiver.down = False
    with trio.fail_after(600):
        report = await sweep_failed_deliveries(app.app_client, store, owner="p1", now=later())
    assert [c.guid for c in report.requested] == [lost]
    assert receiver.received == [lost]


async def test_only_one_process_sweeps_at_a_time(
    world: tuple[FakeGitHub, GithubApp, Receiver], store: Store
) -> None:
    fake, app, receiver = world
    await merge_prs(fake, 1)
    receiver.down = False
    with trio.fail_after(600):
        first = await sweep_failed_deliveries(app.app_client, store, owner="p1", now=later())
        other = await sweep_failed_deliveries(app.app_client, store, owner="p2", now=later())
    assert first.ran and not other.ran
    assert len(receiver.received) == 1


async def test_dry_run_asks_for_nothing(
    world: tuple[FakeGitHub, GithubApp, Receiver], store: Store
) -> None:
    fake, app, receiver = world
    [guid] = await merge_prs(fake, 1)
    receiver.down = False
    with trio.fail_after(600):
        report = await sweep_failed_deliveries(
            app.app_client, store, owner="p1", now=later(), dry_run=True
        )
    assert [c.guid for c in report.candidates] == [guid]
    assert report.requested == [] and receiver.received == []
    assert not any(d.redelivery for d in fake.deliveries)
