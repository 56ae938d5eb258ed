"""The WriteSlots seam: a Pacer takes the start of each write from its WriteSlots, so that processes
sharing one (snekomatic keeps them in the database) write to an installation at most once a second
between them. Autojump clock: no real sleeping."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import httpx
import pytest
import trio
import trio.testing

from snekomatic.gh import GitHubApp, LocalWriteSlots, Pacer, Pacing, WriteSlots
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.testing import FakeInstallation, FakeRepo, open_github_world
from tests.gh.scripted import USER_AGENT, Reply, Script

BASE = "https://api.github.test"


@dataclass
class ReservingSlots:
    """A stand-in for a shared backend: each call reserves the next free start of its installation
    (as the database does), then sleeps until it. Records every call."""

    calls: list[tuple[int, float]] = field(default_factory=list)
    next_free: dict[int, float] = field(default_factory=dict)

    async def acquire(self, installation_id: int, interval: float) -> None:
        self.calls.append((installation_id, interval))
        start = max(self.next_free.get(installation_id, -float("inf")), trio.current_time())
        self.next_free[installation_id] = start + interval
        await trio.sleep_until(start)


@pytest.fixture
def server() -> Script:
    server = Script()
    for method in ("GET", "POST", "PATCH"):
        server.script(method, "/fast", Reply(200, {}))
    return server


def make_client(http: httpx.AsyncClient, pacer: Pacer) -> GitHubClient:
    return GitHubClient(http, base_url=BASE, user_agent=USER_AGENT, pacer=pacer)


def gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(sorted(times))]


def test_both_kinds_of_slots_satisfy_the_protocol() -> None:
    slots: list[WriteSlots] = [LocalWriteSlots(), ReservingSlots()]
    assert len(slots) == 2


async def test_a_pacer_takes_each_write_start_from_its_write_slots(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    slots = ReservingSlots()
    client = make_client(
        http, Pacer(Pacing(write_interval=2.0), write_slots=slots, installation_id=7)
    )
    with trio.fail_after(60):
        await client.post("/fast")
        await client.getitem("/fast")
        await client.patch("/fast")
    assert slots.calls == [(7, 2.0), (7, 2.0)]  # the read asked for no slot
    assert gaps([r.started_at for r in server.requests]) == [0.0, 2.0]


async def test_pacers_of_two_processes_sharing_write_slots_write_one_second_apart(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    # Two processes: each its own Pacer (serial lock, pause) for installation 7, one shared backend.
    shared = ReservingSlots()
    clients = [make_client(http, Pacer(write_slots=shared, installation_id=7)) for _ in range(2)]
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for client in clients * 3:
                nursery.start_soon(client.post, "/fast")
    starts = [r.started_at for r in server.requests]
    assert len(starts) == 6
    assert gaps(starts) == [1.0] * 5


async def test_pacers_of_two_processes_without_shared_slots_write_together(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    # What the shared slots are for: on their own, two processes write at twice the rate.
    clients = [make_client(http, Pacer(installation_id=7)) for _ in range(2)]
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for client in clients:
                nursery.start_soon(client.post, "/fast")
    assert gaps([r.started_at for r in server.requests]) == [0.0]


async def test_a_zero_interval_asks_the_write_slots_nothing(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    slots = ReservingSlots()
    client = make_client(http, Pacer(Pacing(write_interval=0), write_slots=slots))
    with trio.fail_after(60):
        await client.post("/fast")
    assert slots.calls == []


async def test_a_write_cancelled_while_waiting_for_its_slot_releases_the_pacer(
    server: Script, http: httpx.AsyncClient, autojump_clock: trio.testing.MockClock
) -> None:
    shared = ReservingSlots()
    pacer = Pacer(write_slots=shared, installation_id=7)
    shared.next_free[7] = 10.0  # another process holds the next ten seconds
    with trio.fail_after(60):
        with trio.move_on_after(1.0):
            await make_client(http, pacer).post("/fast")
        await make_client(http, pacer).getitem("/fast")  # not held behind the abandoned write
        assert trio.current_time() == pytest.approx(1.0)
        await make_client(http, pacer).post("/fast")  # its slot was taken: the next one
    assert [r.method for r in server.requests] == ["GET", "POST"]
    assert server.requests[1].started_at == pytest.approx(11.0)


async def test_local_write_slots_space_each_installation_apart(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slots = LocalWriteSlots()
    starts: dict[int, list[float]] = {1: [], 2: []}

    async def write(installation_id: int) -> None:
        await slots.acquire(installation_id, 1.5)
        starts[installation_id].append(trio.current_time())

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            for installation_id in (1, 2, 1, 2, 1):
                nursery.start_soon(write, installation_id)
    assert starts == {1: [0.0, 1.5, 3.0], 2: [0.0, 1.5]}


async def test_local_write_slots_keep_no_slot_for_a_cancelled_waiter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    slots = LocalWriteSlots()
    with trio.fail_after(60):
        await slots.acquire(1, 1.0)
        with trio.move_on_after(0.5):
            await slots.acquire(1, 1.0)
        await slots.acquire(1, 1.0)
    assert trio.current_time() == pytest.approx(1.0)


def test_a_pacer_names_shared_slots_in_its_repr() -> None:
    assert repr(Pacer()) == "Pacer(Pacing(write_interval=1.0, serial=True))"
    shared = Pacer(write_slots=ReservingSlots(), installation_id=7)
    assert "write_slots=ReservingSlots(" in repr(shared)
    assert "installation_id=7" in repr(shared)


# --- GitHubApp ----------------------------------------------------------------------------------


async def test_github_apps_sharing_write_slots_pace_each_installation_between_them(
    autojump_clock: trio.testing.MockClock,
) -> None:
    shared = ReservingSlots()
    written: list[tuple[int, float]] = []

    async def write(app: GitHubApp, installation: FakeInstallation, repo: FakeRepo) -> None:
        path = f"/repos/{repo.full_name}/issues/1/comments"
        await app.client_for(installation.id).post(path, data={"body": "hi"})
        written.append((installation.id, trio.current_time()))

    async with open_github_world(served=False) as world:
        other_org = world.fake.add_org("other-org")
        installations = [world.installation, world.fake.install(other_org)]
        repos = [world.fake.add_repo(org, "widget") for org in (world.org, other_org)]
        for repo in repos:
            world.fake.open_issue(repo, author=world.fake.bot)
        first, second = installations
        async with world.new_app(write_slots=shared) as one, world.new_app(write_slots=shared) as two:
            with trio.fail_after(600):
                async with trio.open_nursery() as nursery:
                    for app in (one, two):
                        nursery.start_soon(write, app, first, repos[0])
                        nursery.start_soon(write, app, first, repos[0])
                        nursery.start_soon(write, app, second, repos[1])
    # Token mints go through the app client (app-wide, paced per process): only comments took slots.
    assert sorted(shared.calls) == [(first.id, 1.0)] * 4 + [(second.id, 1.0)] * 2
    assert gaps([t for i, t in written if i == first.id]) == [1.0] * 3
    assert gaps([t for i, t in written if i == second.id]) == [1.0]
