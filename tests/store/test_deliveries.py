"""Storing, claiming and settling deliveries, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.exc import StatementError

from snekomatic.store import DeliveryStatus, Settlement, Store
from tests.store.builders import NOW, new_delivery, seconds

LEASE = 30.0


def test_new_delivery_is_stored_pending_and_due_at_once(store: Store) -> None:
    (is_new,) = store.insert_deliveries([new_delivery("guid-1")])

    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert is_new is True
    assert claimed is not None
    assert (claimed.delivery_id, claimed.event, claimed.action) == (
        "guid-1",
        "issue_comment",
        "created",
    )
    assert claimed.body == b'{"action": "created"}'
    assert claimed.received_at == NOW


def test_duplicate_delivery_is_skipped(store: Store) -> None:
    store.insert_deliveries([new_delivery("guid-1")])

    results = store.insert_deliveries([new_delivery("guid-1"), new_delivery("guid-2")])

    assert results == [False, True]
    assert store.count_by_status()[DeliveryStatus.PENDING] == 2


def test_duplicate_within_one_batch_is_new_only_once(store: Store) -> None:
    results = store.insert_deliveries([new_delivery("guid-1"), new_delivery("guid-1")])

    assert results == [True, False]
    assert store.count_by_status()[DeliveryStatus.PENDING] == 1


def test_same_guid_under_another_hook_is_another_delivery(store: Store) -> None:
    results = store.insert_deliveries([new_delivery("g", hook_id=1), new_delivery("g", hook_id=2)])

    assert results == [True, True]


def test_unknown_hook_id_still_detects_duplicates(store: Store) -> None:
    store.insert_deliveries([new_delivery("g", hook_id=None)])

    assert store.insert_deliveries([new_delivery("g", hook_id=None)]) == [False]
    assert store.delivery_exists(None, "g")


def test_large_batch_is_stored_in_one_call(store: Store) -> None:
    results = store.insert_deliveries([new_delivery(f"g{i}") for i in range(450)])

    assert results == [True] * 450


def test_headers_are_reduced_to_the_allow_list(store: Store) -> None:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": "guid-1",
        "X-GitHub-Hook-ID": "1",
        "X-Hub-Signature-256": "sha256=deadbeef",
        "X-Hub-Signature": "sha1=deadbeef",
        "Cookie": "session=secret",
    }
    store.insert_deliveries([new_delivery("guid-1", headers=headers)])

    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)

    assert claimed is not None
    assert claimed.headers == {
        "content-type": "application/json",
        "x-github-event": "issue_comment",
        "x-github-delivery": "guid-1",
        "x-github-hook-id": "1",
    }


def test_claim_takes_the_oldest_due_delivery(store: Store) -> None:
    store.insert_deliveries([new_delivery("late", received_at=NOW + seconds(5))])
    store.insert_deliveries([new_delivery("early", received_at=NOW)])

    claimed = store.claim_next_delivery("w1", now=NOW + seconds(10), lease=LEASE)

    assert claimed is not None and claimed.delivery_id == "early"


def test_claim_sets_lease_and_counts_the_attempt(store: Store) -> None:
    store.insert_deliveries([new_delivery()])

    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)

    assert claimed is not None
    assert claimed.status is DeliveryStatus.LEASED
    assert (claimed.lease_owner, claimed.lease_expires_at, claimed.attempts) == (
        "w1",
        NOW + seconds(LEASE),
        1,
    )


def test_leased_delivery_is_not_claimed_again_before_expiry(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    store.claim_next_delivery("w1", now=NOW, lease=LEASE)

    assert store.claim_next_delivery("w2", now=NOW + seconds(LEASE - 1), lease=LEASE) is None


def test_expired_lease_is_claimed_by_another_worker(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    first = store.claim_next_delivery("w1", now=NOW, lease=LEASE)

    second = store.claim_next_delivery("w2", now=NOW + seconds(LEASE), lease=LEASE)

    assert first is not None and second is not None
    assert (second.id, second.lease_owner, second.attempts) == (first.id, "w2", 2)


def test_worker_that_lost_its_lease_cannot_complete(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    first = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert first is not None
    store.claim_next_delivery("w2", now=NOW + seconds(LEASE), lease=LEASE)

    completed = store.complete_delivery(first.id, "w1", now=NOW + seconds(LEASE + 1))

    assert completed is False
    assert store.count_by_status()[DeliveryStatus.LEASED] == 1


@pytest.mark.parametrize("operation", ["renew", "retry", "dead_letter", "release"])
def test_worker_that_lost_its_lease_cannot_settle(store: Store, operation: str) -> None:
    store.insert_deliveries([new_delivery()])
    first = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert first is not None
    store.claim_next_delivery("w2", now=NOW + seconds(LEASE), lease=LEASE)
    later = NOW + seconds(LEASE + 1)

    settled = {
        "renew": lambda: store.renew_lease(first.id, "w1", now=later, lease=LEASE),
        "retry": lambda: store.retry_delivery(
            first.id, "w1", now=later, next_attempt_at=later, error="x"
        ),
        "dead_letter": lambda: store.dead_letter(first.id, "w1", now=later, error="x"),
        "release": lambda: store.release_lease(first.id, "w1", now=later),
    }[operation]()

    assert settled is False
    current = store.get_delivery(first.id)
    assert current is not None and current.lease_owner == "w2"


def test_renewed_lease_is_not_reclaimed(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert claimed is not None

    assert store.renew_lease(claimed.id, "w1", now=NOW + seconds(20), lease=LEASE)

    assert store.claim_next_delivery("w2", now=NOW + seconds(LEASE + 1), lease=LEASE) is None


def test_completed_delivery_is_done_and_never_claimed_again(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert claimed is not None

    assert store.complete_delivery(claimed.id, "w1", now=NOW + seconds(1))

    done = store.get_delivery(claimed.id)
    assert done is not None
    assert (done.status, done.finished_at, done.lease_owner) == (
        DeliveryStatus.DONE,
        NOW + seconds(1),
        None,
    )
    assert store.claim_next_delivery("w2", now=NOW + seconds(3600), lease=LEASE) is None


def test_retried_delivery_waits_for_its_next_attempt_time(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert claimed is not None
    store.retry_delivery(claimed.id, "w1", now=NOW, next_attempt_at=NOW + seconds(60), error="boom")

    too_early = store.claim_next_delivery("w1", now=NOW + seconds(59), lease=LEASE)
    again = store.claim_next_delivery("w1", now=NOW + seconds(60), lease=LEASE)

    assert too_early is None
    assert again is not None
    assert (again.id, again.attempts, again.last_error) == (claimed.id, 2, "boom")


def test_next_due_at_reports_the_earliest_retry(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert claimed is not None
    store.retry_delivery(claimed.id, "w1", now=NOW, next_attempt_at=NOW + seconds(60), error="e")

    assert store.next_due_at() == NOW + seconds(60)


def test_next_due_at_includes_lease_expiry(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    store.claim_next_delivery("w1", now=NOW, lease=LEASE)

    assert store.next_due_at() == NOW + seconds(LEASE)


def test_next_due_at_is_none_when_nothing_is_waiting(store: Store) -> None:
    assert store.next_due_at() is None


def test_dead_letter_keeps_the_error_and_is_never_claimed(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert claimed is not None

    assert store.dead_letter(claimed.id, "w1", now=NOW, error="ValueError: nope")

    (dead,) = store.list_deliveries(DeliveryStatus.DEAD)
    assert (dead.id, dead.last_error, dead.finished_at) == (claimed.id, "ValueError: nope", NOW)
    assert store.claim_next_delivery("w1", now=NOW + seconds(86400), lease=LEASE) is None


def test_replay_makes_a_dead_delivery_due_with_attempts_reset(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert claimed is not None
    store.dead_letter(claimed.id, "w1", now=NOW, error="e")

    assert store.replay_delivery(claimed.id, now=NOW + seconds(10))

    again = store.claim_next_delivery("w2", now=NOW + seconds(10), lease=LEASE)
    assert again is not None and (again.id, again.attempts) == (claimed.id, 1)


def test_replay_of_a_pending_delivery_changes_nothing(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    (pending,) = store.list_deliveries()

    assert store.replay_delivery(pending.id, now=NOW) is False


def test_released_delivery_is_due_at_once_without_counting_the_attempt(store: Store) -> None:
    store.insert_deliveries([new_delivery()])
    claimed = store.claim_next_delivery("w1", now=NOW, lease=LEASE)
    assert claimed is not None

    assert store.release_lease(claimed.id, "w1", now=NOW + seconds(1))

    again = store.claim_next_delivery("w2", now=NOW + seconds(1), lease=LEASE)
    assert again is not None and (again.id, again.attempts) == (claimed.id, 1)


def test_claim_deliveries_takes_up_to_the_limit(store: Store) -> None:
    store.insert_deliveries([new_delivery() for _ in range(5)])

    claimed = store.claim_deliveries("w1", now=NOW, lease=LEASE, limit=3)

    assert len({d.id for d in claimed}) == 3
    assert store.count_by_status()[DeliveryStatus.LEASED] == 3


def test_known_delivery_ids_lists_only_stored_guids(store: Store) -> None:
    store.insert_deliveries([new_delivery("a"), new_delivery("b")])

    assert store.known_delivery_ids(["a", "c", "b", "a"]) == {"a", "b"}


def test_find_delivery_ids_lists_each_hooks_row_of_a_guid(store: Store) -> None:
    store.insert_deliveries(
        [new_delivery("a", hook_id=2), new_delivery("b"), new_delivery("a", hook_id=1)]
    )
    first, _, second = (d.id for d in reversed(store.list_deliveries()))

    assert store.find_delivery_ids("a") == [first, second]


def test_find_delivery_ids_of_an_unknown_guid_is_empty(store: Store) -> None:
    store.insert_deliveries([new_delivery("a")])

    assert store.find_delivery_ids("b") == []


def test_count_by_status_lists_every_status(store: Store) -> None:
    assert store.count_by_status() == dict.fromkeys(DeliveryStatus, 0)


def test_list_deliveries_is_newest_first_and_limited(store: Store) -> None:
    store.insert_deliveries([new_delivery(f"g{i}") for i in range(5)])

    listed = store.list_deliveries(limit=2)

    assert [d.delivery_id for d in listed] == ["g4", "g3"]


def test_delete_finished_before_keeps_recent_and_dead(store: Store) -> None:
    store.insert_deliveries([new_delivery() for _ in range(3)])
    old, recent, dead = store.claim_deliveries("w", now=NOW, lease=LEASE, limit=3)
    store.complete_delivery(old.id, "w", now=NOW)
    store.complete_delivery(recent.id, "w", now=NOW + seconds(100))
    store.dead_letter(dead.id, "w", now=NOW, error="e")

    deleted = store.delete_finished_before(NOW + seconds(50))

    assert deleted == 1
    assert store.get_delivery(old.id) is None
    assert store.get_delivery(recent.id) is not None and store.get_delivery(dead.id) is not None


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="timezone-aware"):
        store.claim_next_delivery("w1", now=NOW.replace(tzinfo=None), lease=LEASE)


def test_batch_of_large_bodies_is_stored_whole(store: Store) -> None:
    big = b"x" * (5 * 1024 * 1024)
    rows = [new_delivery(f"big{i}", body=big) for i in range(3)]

    assert store.insert_deliveries(rows) == [True, True, True]
    assert store.known_delivery_ids(["big0", "big1", "big2"]) == {"big0", "big1", "big2"}


def test_delivery_reprs_leave_out_body_and_headers() -> None:
    delivery = new_delivery(headers={"X-Hub-Signature-256": "sha256=feedface"}, body=b"BODY")

    assert "feedface" not in repr(delivery)
    assert "BODY" not in repr(delivery)


def test_several_outcomes_are_recorded_in_one_transaction_each_as_held(store: Store) -> None:
    store.insert_deliveries([new_delivery(f"g{i}") for i in range(4)])
    claimed = [store.claim_next_delivery(f"w{i}", now=NOW, lease=30) for i in range(4)]
    assert all(claimed)
    a, b, c, d = (delivery.id for delivery in claimed if delivery is not None)

    held = store.settle_deliveries(
        [
            Settlement("complete", a, "w0"),
            Settlement("retry", b, "w1", next_attempt_at=NOW + seconds(60), error="E: x"),
            Settlement("dead_letter", c, "w2", error="E: y"),
            Settlement("complete", d, "not-its-owner"),
            Settlement("release", d, "w3"),
        ],
        now=NOW + seconds(1),
    )

    assert held == [True, True, True, False, True]
    rows = {row.id: row for row in store.list_deliveries()}
    assert (rows[a].status, rows[a].finished_at) == (DeliveryStatus.DONE, NOW + seconds(1))
    assert (rows[b].status, rows[b].next_attempt_at, rows[b].last_error) == (
        DeliveryStatus.PENDING,
        NOW + seconds(60),
        "E: x",
    )
    assert (rows[c].status, rows[c].last_error) == (DeliveryStatus.DEAD, "E: y")
    assert (rows[d].status, rows[d].attempts) == (DeliveryStatus.PENDING, 0)


def test_completions_in_one_batch_each_say_whether_their_owner_held_the_lease(
    store: Store,
) -> None:
    store.insert_deliveries([new_delivery(f"g{i}") for i in range(3)])
    claimed = [store.claim_next_delivery(f"w{i}", now=NOW, lease=30) for i in range(3)]
    a, b, c = (delivery.id for delivery in claimed if delivery is not None)

    held = store.settle_deliveries(
        [
            Settlement("complete", a, "w0"),
            Settlement("complete", b, "someone-else"),
            Settlement("complete", c, "w2"),
            Settlement("complete", c, "w2"),  # the same settlement again: already recorded
        ],
        now=NOW + seconds(1),
    )

    assert held == [True, False, True, False]
    statuses = {row.id: row.status for row in store.list_deliveries()}
    assert statuses == {a: DeliveryStatus.DONE, b: DeliveryStatus.LEASED, c: DeliveryStatus.DONE}


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_batch_of_completions_finds_its_rows_by_key_not_by_reading_the_table(
    store: Store,
) -> None:
    store.insert_deliveries([new_delivery(f"k{i}") for i in range(5)])
    claimed = store.claim_deliveries("w", now=NOW, lease=30, limit=5)
    updates: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE"):
            updates.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        store.settle_deliveries([Settlement("complete", d.id, "w") for d in claimed], now=NOW)
    finally:
        event.remove(store.engine, "before_cursor_execute", record)

    [(statement, parameters)] = updates
    with store.engine.connect() as conn:
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    details = " ".join(str(row[-1]) for row in plan)
    assert "SCAN deliveries" not in details, details
