"""A ``serve`` killed between two effects: the restarted one carries on at once (issue 9).

The bot is SIGKILLed right after sending the invitation, while it looks for the welcome comment. Its
delivery's lease has a minute to run; the restarted process recognises the lease's owner as a dead
process of its own machine and takes the delivery up straight away, without a second invitation.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import trio

from snekomatic.gh.testing import (
    FakeDelivery,
    FakePullRequest,
    FakeUser,
)
from snekomatic.gh.testing._deliveries import redeliver
from snekomatic.store import Store, create_store_engine
from snekomatic.store._tables import metadata
from tests.e2e.conftest import (
    _make_world,
    _merge,
    hosted_github,
    start_serve,
    stop_serve,
    wait_until,
)

LEASE_SECONDS = 60  # WorkerPolicy.lease: how long the delivery would otherwise wait


async def test_serve_killed_between_invitation_and_comment_is_resumed_at_once_by_its_successor(
    migrated_database: str, tmp_path: Path
) -> None:
    engine = create_store_engine(migrated_database)
    store = Store(engine)
    with hosted_github(migrated_database) as (host, env):
        fake = host.fake
        doomed = await trio.to_thread.run_sync(start_serve, env, tmp_path)
        world = await host.run(_make_world, fake)
        await host.run(setattr, fake, "webhook_url", doomed.webhook_url)
        comments = f"/repos/{world.repo.full_name}/issues/*/comments"
        # Killed as GitHub answers its first look for the comment: invited, not yet commented.
        hook = ("GET", comments, lambda: os.kill(doomed.process.pid, signal.SIGKILL))
        await host.run(host.hooks.before_answer.append, hook)

        with trio.fail_after(20):
            pr, delivery = await host.run_async(
                _merge, fake, world.repo, world.contributor, world.maintainer
            )
            assert delivery is not None
            assert await trio.to_thread.run_sync(doomed.process.wait) == -signal.SIGKILL
        await host.run(host.hooks.before_answer.remove, hook)
        invitation = await trio.to_thread.run_sync(
            store.get_invitation, world.org.account.id, world.contributor.id
        )
        assert invitation is not None and invitation.state == "invited"

        successor = await trio.to_thread.run_sync(start_serve, env, tmp_path)
        try:
            deliveries = metadata.tables["deliveries"]

            async def done() -> bool:
                def read() -> str | None:
                    with engine.connect() as conn:
                        return conn.execute(
                            deliveries.select()
                            .with_only_columns(deliveries.c.status)
                            .where(deliveries.c.delivery_id == delivery.guid)
                        ).scalar_one_or_none()

                return await trio.to_thread.run_sync(read) == "done"

            # Well inside the lease the killed process left behind.
            with trio.fail_after(LEASE_SECONDS / 3):
                await wait_until(done)
        finally:
            assert await trio.to_thread.run_sync(stop_serve, successor) == 0
        assert [i.invitee.login for i in await host.run(fake.invitations_for, world.org)] == [
            world.contributor.login
        ]
        assert len(await host.run(fake.comments_on, pr.repo, pr.number)) == 1
    engine.dispose()


NEWCOMERS = 6


async def test_serve_killed_between_a_batch_s_insert_and_its_outcomes_loses_nothing_and_repeats_nothing(
    migrated_database: str, tmp_path: Path
) -> None:
    """Six newcomers' merges arrive at once; the bot is SIGKILLed at its first call to GitHub, when
    the first batch is stored (handed to its workers or left pending) and no outcome is recorded.
    What it answered 2xx is processed by its successor; what it never answered GitHub sends again.
    Between them: six invitations and six comments, one each."""
    engine = create_store_engine(migrated_database)
    deliveries = metadata.tables["deliveries"]
    with hosted_github(migrated_database) as (host, env):
        fake = host.fake
        doomed = await trio.to_thread.run_sync(start_serve, env, tmp_path)
        world = await host.run(_make_world, fake)
        newcomers = [
            await host.run(fake.add_user, f"newcomer-{index}-{world.org.login}")
            for index in range(NEWCOMERS)
        ]
        await host.run(setattr, fake, "webhook_url", doomed.webhook_url)
        kill = ("POST", "/app/installations/*/access_tokens", lambda: doomed.process.kill())
        await host.run(host.hooks.before_answer.append, kill)

        sent: list[tuple[FakePullRequest, FakeDelivery]] = []

        async def merge(author: FakeUser) -> None:
            pr, delivery = await host.run_async(_merge, fake, world.repo, author, world.maintainer)
            assert delivery is not None
            sent.append((pr, delivery))

        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                for author in newcomers:
                    nursery.start_soon(merge, author)
            assert await trio.to_thread.run_sync(doomed.process.wait) == -signal.SIGKILL
        await host.run(host.hooks.before_answer.remove, kill)

        def stored() -> dict[str, str]:
            with engine.connect() as conn:
                rows = conn.execute(
                    deliveries.select().with_only_columns(
                        deliveries.c.delivery_id, deliveries.c.status
                    )
                )
                return {guid: status for guid, status in rows}

        accepted = {d.guid for _, d in sent if 200 <= d.status_code < 300}
        at_the_kill = await trio.to_thread.run_sync(stored)
        assert accepted and accepted <= set(at_the_kill)  # every 2xx answer was a stored row
        assert "done" not in at_the_kill.values()  # killed before any outcome was recorded

        successor = await trio.to_thread.run_sync(start_serve, env, tmp_path)
        try:
            await host.run(setattr, fake, "webhook_url", successor.webhook_url)
            for _, delivery in sent:  # what GitHub saw fail, it sends again (the redelivery sweep)
                if delivery.guid not in accepted:
                    await host.run_async(redeliver, fake, delivery)

            async def all_done() -> bool:
                statuses = await trio.to_thread.run_sync(stored)
                return len(statuses) == NEWCOMERS and set(statuses.values()) == {"done"}

            with trio.fail_after(LEASE_SECONDS / 2):  # well inside the leases left behind
                await wait_until(all_done)
        finally:
            assert await trio.to_thread.run_sync(stop_serve, successor) == 0
        invited = [i.invitee.login for i in await host.run(fake.invitations_for, world.org)]
        assert sorted(invited) == sorted(user.login for user in newcomers)
        for pr, _ in sent:
            assert len(await host.run(fake.comments_on, pr.repo, pr.number)) == 1
    engine.dispose()
