"""snekomatic.operate: recorded payload files, stored-delivery replay, and the status report."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import quote_plus

import pytest
import trio

from snekomatic.gh.app import GitHubApp
from snekomatic.gh.testing import GitHubWorld, build_webhook_request
from snekomatic.operate import (
    AmbiguousDelivery,
    InstallationState,
    RecordingError,
    Requeue,
    StoreStatus,
    UnknownDelivery,
    find_delivery,
    format_duration,
    format_installations,
    format_store_status,
    format_table,
    parse_recorded_delivery,
    read_installation_states,
    read_store_status,
    requeue_delivery,
    run_delivery_now,
    truncate,
)
from snekomatic.store import (
    Delivery,
    DeliveryStatus,
    DeliverySummary,
    Invitation,
    NewDelivery,
    Store,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)
PAYLOAD = {"action": "closed", "number": 7, "installation": {"id": 3}}

# --- recorded payload files -----------------------------------------------------------------------

PASTED_REQUEST_VIEW = """\
Request URL: https://bot.example/webhook/github
Request method: POST
Accept: */*
Content-Type: application/json
User-Agent: GitHub-Hookshot/a1b2c3d
X-GitHub-Delivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958
X-GitHub-Event: pull_request
X-Hub-Signature-256: sha256=deadbeef

{
  "action": "closed",
  "number": 7,
  "installation": {"id": 3}
}
"""

API_DELIVERY_VIEW = json.dumps(
    {
        "id": 12345678,
        "guid": "0b989ba4-242f-11e5-81e1-c7b6966d2516",
        "event": "pull_request",
        "action": "closed",
        "request": {"headers": {"X-GitHub-Event": "pull_request"}, "payload": PAYLOAD},
        "response": {"headers": {}, "payload": "ok"},
    }
)


@pytest.mark.parametrize(
    ("text", "event"),
    [
        pytest.param(json.dumps(PAYLOAD, indent=2), None, id="bare-payload"),
        pytest.param("payload=" + quote_plus(json.dumps(PAYLOAD)), None, id="form-body"),
        pytest.param(PASTED_REQUEST_VIEW, "pull_request", id="pasted-request-view"),
        pytest.param(API_DELIVERY_VIEW, "pull_request", id="api-delivery-view"),
    ],
)
def test_recorded_delivery_yields_the_payload_and_the_event_it_names(
    text: str, event: str | None
) -> None:
    recorded = parse_recorded_delivery(text)
    assert recorded.payload == PAYLOAD
    assert recorded.event == event


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("{not json", id="broken-json"),
        pytest.param("[1, 2]", id="json-array"),
        pytest.param("X-GitHub-Event: push\n\nno payload here", id="headers-only"),
        pytest.param("payload=", id="empty-form"),
    ],
)
def test_recording_without_a_json_object_payload_is_refused(text: str) -> None:
    with pytest.raises(RecordingError):
        parse_recorded_delivery(text)


# --- pure formatting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [
        pytest.param("short", 10, "short", id="fits"),
        pytest.param("a  b\n c", 10, "a b c", id="one-line"),
        pytest.param("abcdefghij", 5, "abcd…", id="cut"),
        pytest.param("abc", 0, "", id="no-room"),
    ],
)
def test_truncate(text: str, width: int, expected: str) -> None:
    assert truncate(text, width) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        pytest.param(0.25, "250ms", id="ms"),
        pytest.param(12.34, "12.3s", id="seconds"),
        pytest.param(245, "4m05s", id="minutes"),
        pytest.param(2 * 3600 + 180, "2h03m", id="hours"),
        pytest.param(3 * 86400 + 4 * 3600, "3d04h", id="days"),
        pytest.param(-5, "0ms", id="negative"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_table_columns_are_aligned() -> None:
    lines = format_table(["ID", "NAME"], [["1", "alpha"], ["100", "b"]], width=80)
    assert lines == ["ID   NAME", "1    alpha", "100  b"]


def test_table_cuts_only_the_last_column_to_the_width() -> None:
    lines = format_table(["ID", "ERROR"], [["1", "x" * 100]], width=20)
    assert lines[1] == "1   " + "x" * 15 + "…"
    assert max(len(line) for line in lines) == 20


def test_table_last_column_is_never_narrower_than_its_header() -> None:
    lines = format_table(["A" * 30, "ERROR"], [["a", "long error text"]], width=20)
    assert lines[1].endswith("  long…")


def summary(id: int, status: DeliveryStatus, **fields: object) -> DeliverySummary:
    values: dict[str, object] = {
        "id": id,
        "hook_id": 1,
        "delivery_id": f"{id:08d}-aaaa-bbbb-cccc-dddddddddddd",
        "event": "pull_request",
        "action": "closed",
        "installation_id": 3,
        "received_at": T0,
        "status": status,
        "attempts": 1,
        "next_attempt_at": T0,
        "lease_owner": None,
        "lease_expires_at": None,
        "last_error": None,
        "finished_at": None,
    }
    values.update(fields)
    return DeliverySummary(**values)  # type: ignore[arg-type]


def invitation(login: str, state: str, *, org: str = "octo-org") -> Invitation:
    return Invitation(
        org_id=10,
        user_id=hash(login) % 1000,
        org_login=org,
        user_login=login,
        state=state,
        updated_at=T0,
    )


def status_of(**fields: object) -> StoreStatus:
    values: dict[str, object] = {
        "counts": dict.fromkeys(DeliveryStatus, 0),
        "recent": [],
        "dead": [],
        "invitation_counts": {},
        "invitations": [],
        "paused_orgs": [],
    }
    values.update(fields)
    return StoreStatus(**values)  # type: ignore[arg-type]


def test_status_counts_every_delivery_status() -> None:
    counts = {
        DeliveryStatus.PENDING: 2,
        DeliveryStatus.LEASED: 1,
        DeliveryStatus.DONE: 5,
        DeliveryStatus.DEAD: 1,
    }
    lines = format_store_status(status_of(counts=counts), now=T0, width=120)
    assert lines[0] == "Deliveries: 2 pending, 1 leased, 5 done, 1 dead"


def test_status_row_shows_event_action_short_id_attempts_and_time_taken() -> None:
    done = summary(4, DeliveryStatus.DONE, attempts=2, finished_at=T0 + dt.timedelta(seconds=1.5))
    lines = format_store_status(status_of(recent=[done]), now=T0, width=120)
    row = next(line for line in lines if line.startswith("4 "))
    assert row.split() == [
        "4",
        "2024-05-01",
        "12:00:00",
        "pull_request.closed",
        "00000004",
        "done",
        "2",
        "1.5s",
    ]


def test_status_dead_letter_shows_its_error_and_the_replay_command() -> None:
    dead = summary(9, DeliveryStatus.DEAD, last_error="NotFound: 404 Not Found")
    counts = {**dict.fromkeys(DeliveryStatus, 0), DeliveryStatus.DEAD: 1}
    lines = format_store_status(status_of(counts=counts, dead=[dead]), now=T0, width=120)
    text = "\n".join(lines)
    assert "Dead letters (1):" in text
    dead_row = next(line for line in lines if line.startswith("9 ") and dead.delivery_id in line)
    assert dead_row.endswith("NotFound: 404 Not Found")
    assert "snekomatic replay --delivery 9" in text


def test_status_groups_invitations_and_lists_paused_orgs_with_until() -> None:
    counts = {"member": 1, "commented": 1, "deferred": 1, "checking": 1, "invited": 1}
    until = T0 + dt.timedelta(hours=2)
    report = status_of(invitation_counts=counts, paused_orgs=[("octo-org", until)])
    text = "\n".join(format_store_status(report, now=T0, width=120))
    assert "Invitations (all): 2 sent, 1 pending, 1 deferred, 1 already members" in text
    assert "octo-org  2024-05-01 14:00:00  2h00m" in text


def test_status_lines_fit_the_width_when_errors_are_long() -> None:
    dead = summary(9, DeliveryStatus.DEAD, last_error="E" * 500)
    lines = format_store_status(status_of(recent=[dead], dead=[dead]), now=T0, width=100)
    assert max(len(line) for line in lines) <= 100


def test_installations_show_remaining_reset_and_failures() -> None:
    states = [
        InstallationState(
            installation_id=1,
            account="octo-org",
            limit=5000,
            remaining=4990,
            reset_at=T0 + dt.timedelta(minutes=42),
        ),
        InstallationState(installation_id=2, account="suspended", error="Forbidden: suspended"),
    ]
    lines = format_installations(states, now=T0, width=120)
    assert lines[1].split() == ["1", "octo-org", "ok", "4990/5000", "42m00s"]
    assert lines[2].split() == ["2", "suspended", "failed", "Forbidden:", "suspended"]


# --- the store ------------------------------------------------------------------------------------


def stored(store: Store, guid: str, *, hook_id: int = 1, at: dt.datetime = T0) -> int:
    headers, body = build_webhook_request(
        "pull_request", PAYLOAD, secret="s", delivery_id=guid, hook_id=hook_id
    )
    new = NewDelivery(
        hook_id=hook_id,
        delivery_id=guid,
        event="pull_request",
        action="closed",
        installation_id=3,
        received_at=at,
        body=body,
        headers=headers,
    )
    assert store.insert_deliveries([new]) == [True]
    return next(
        d.id
        for d in store.list_deliveries(limit=1000)
        if d.delivery_id == guid and d.hook_id == hook_id
    )


def settle(store: Store, id: int, status: DeliveryStatus, error: str = "Boom: broke") -> None:
    claimed = store.claim_next_delivery("test-owner", now=T0 + dt.timedelta(hours=1), lease=60)
    assert claimed is not None and claimed.id == id
    now = T0 + dt.timedelta(hours=1, seconds=2)
    if status is DeliveryStatus.DEAD:
        assert store.dead_letter(id, "test-owner", now=now, error=error)
    else:
        assert store.complete_delivery(id, "test-owner", now=now)


@pytest.mark.parametrize("by", ["id", "guid"])
def test_find_delivery_by_id_or_guid(store: Store, by: str) -> None:
    id = stored(store, "guid-one")
    assert find_delivery(store, str(id) if by == "id" else "guid-one").id == id


@pytest.mark.parametrize("ref", ["999", "no-such-guid"])
def test_find_unknown_delivery_raises(store: Store, ref: str) -> None:
    with pytest.raises(UnknownDelivery):
        find_delivery(store, ref)


def test_find_guid_of_two_hooks_is_ambiguous(store: Store) -> None:
    stored(store, "shared", hook_id=1)
    stored(store, "shared", hook_id=2)
    with pytest.raises(AmbiguousDelivery):
        find_delivery(store, "shared")


@pytest.mark.parametrize("status", [DeliveryStatus.DEAD, DeliveryStatus.DONE])
def test_requeue_makes_a_finished_delivery_pending_with_no_attempts(
    store: Store, status: DeliveryStatus
) -> None:
    id = stored(store, "g")
    settle(store, id, status)
    assert requeue_delivery(store, find_delivery(store, "g"), now=T0) is Requeue.REQUEUED
    after = store.get_delivery(id)
    assert after is not None
    assert (after.status, after.attempts) == (DeliveryStatus.PENDING, 0)


def test_requeue_leaves_a_pending_delivery_alone(store: Store) -> None:
    id = stored(store, "g")
    assert requeue_delivery(store, find_delivery(store, "g"), now=T0) is Requeue.ALREADY_PENDING
    assert store.get_delivery(id).attempts == 0  # type: ignore[union-attr]


def test_read_store_status_lists_dead_letters_and_paused_orgs(store: Store) -> None:
    dead = stored(store, "dead-one")
    settle(store, dead, DeliveryStatus.DEAD, error="NotFound: gone")
    stored(store, "pending-one", at=T0 + dt.timedelta(hours=2))
    assert store.insert_invitation(invitation("ann", "deferred"))
    store.throttle_org(10, until=T0 + dt.timedelta(hours=3))
    store.throttle_org(11, until=T0 - dt.timedelta(hours=3))  # over already
    report = read_store_status(store, now=T0, limit=10)
    assert report.counts[DeliveryStatus.DEAD] == 1
    assert report.counts[DeliveryStatus.PENDING] == 1
    assert [d.id for d in report.dead] == [dead]
    assert report.dead[0].last_error == "NotFound: gone"
    assert report.invitation_counts == {"deferred": 1}
    assert report.paused_orgs == [("octo-org", T0 + dt.timedelta(hours=3))]


# --- running a stored delivery here ---------------------------------------------------------------


def wall_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def test_run_now_marks_a_dead_delivery_done_after_processing_it(store: Store) -> None:
    id = stored(store, "g")
    settle(store, id, DeliveryStatus.DEAD)
    seen: list[Delivery] = []

    async def process(delivery: Delivery) -> None:
        seen.append(delivery)

    with trio.fail_after(30):
        outcome = await run_delivery_now(
            store, find_delivery(store, "g"), process, owner="me", clock=wall_now
        )
    assert outcome.ran and outcome.status is DeliveryStatus.DONE
    assert [d.id for d in seen] == [id]
    assert store.get_delivery(id).status is DeliveryStatus.DONE  # type: ignore[union-attr]


async def test_run_now_holds_a_current_lease_while_processing(store: Store) -> None:
    id = stored(store, "g")
    settle(store, id, DeliveryStatus.DONE)
    leases: list[Delivery | None] = []

    async def process(delivery: Delivery) -> None:
        leases.append(store.get_delivery(id))

    with trio.fail_after(30):
        await run_delivery_now(
            store, find_delivery(store, "g"), process, owner="me", clock=wall_now
        )
    during = leases[0]
    assert during is not None and during.status is DeliveryStatus.LEASED
    assert during.lease_owner == "me"
    assert during.lease_expires_at is not None and during.lease_expires_at > wall_now()


async def test_run_now_records_a_failure_as_dead_with_the_error(store: Store) -> None:
    id = stored(store, "g")
    settle(store, id, DeliveryStatus.DEAD)

    async def process(delivery: Delivery) -> None:
        raise RuntimeError("still broken")

    with trio.fail_after(30):
        outcome = await run_delivery_now(
            store, find_delivery(store, "g"), process, owner="me", clock=wall_now
        )
    assert (outcome.ran, outcome.error) == (True, "RuntimeError: still broken")
    after = store.get_delivery(id)
    assert after is not None
    assert (after.status, after.last_error) == (DeliveryStatus.DEAD, "RuntimeError: still broken")


async def test_run_now_does_not_run_a_pending_delivery(store: Store) -> None:
    stored(store, "g")
    ran: list[Delivery] = []

    async def process(delivery: Delivery) -> None:
        ran.append(delivery)

    with trio.fail_after(30):
        outcome = await run_delivery_now(
            store, find_delivery(store, "g"), process, owner="me", clock=wall_now
        )
    assert (outcome.ran, outcome.requeue, ran) == (False, Requeue.ALREADY_PENDING, [])


# --- GitHub's view of the installations -----------------------------------------------------------


@pytest.fixture
async def fake_app(github_world: GitHubWorld) -> GitHubApp:
    github_world.fake.install(github_world.fake.add_user("solo"))
    return github_world.app


async def test_installation_states_come_from_github(fake_app: GitHubApp) -> None:
    with trio.fail_after(30):
        states = await read_installation_states(fake_app)
    assert sorted(s.account for s in states) == ["octo-org", "solo"]
    assert all(s.error is None and s.limit and s.remaining is not None for s in states)
    assert all(s.reset_at is not None for s in states)
