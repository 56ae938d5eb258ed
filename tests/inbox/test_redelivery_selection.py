"""The pure rule for which failed deliveries to ask GitHub for again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from snekomatic.inbox._redelivery import select_redeliveries

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def entry(
    id: int, guid: str, status_code: int, *, hours_ago: float = 1, redelivery: bool = False
) -> dict[str, Any]:
    """One entry of GET /app/hook/deliveries, in GitHub's shape."""
    when = NOW - timedelta(hours=hours_ago)
    return {
        "id": id,
        "guid": guid,
        "delivered_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "redelivery": redelivery,
        "duration": 0.27,
        "status": "OK" if status_code < 300 else f"Invalid HTTP Response: {status_code}",
        "status_code": status_code,
        "event": "pull_request",
        "action": "closed",
        "installation_id": 123,
        "repository_id": 456,
    }


def chosen_ids(log: list[dict[str, Any]], known: set[str] = frozenset(), **kw: Any) -> list[int]:  # type: ignore[assignment]
    return [c.delivery_id for c in select_redeliveries(log, known_guids=set(known), now=NOW, **kw)]


def test_a_failed_unknown_delivery_is_redelivered() -> None:
    assert chosen_ids([entry(1, "g1", 503)]) == [1]


def test_a_delivery_that_later_succeeded_is_not_redelivered() -> None:
    assert chosen_ids([entry(2, "g1", 202, hours_ago=1), entry(1, "g1", 503, hours_ago=2)]) == []


def test_a_failure_we_stored_anyway_is_not_redelivered() -> None:
    # GitHub timed out waiting for our answer, but the delivery reached the inbox.
    assert chosen_ids([entry(1, "g1", 0)], known={"g1"}) == []


def test_the_newest_failed_attempt_of_a_guid_is_chosen_once() -> None:
    log = [entry(3, "g1", 502, hours_ago=1), entry(1, "g1", 503, hours_ago=5)]
    assert chosen_ids(log) == [3]


@pytest.mark.parametrize(
    ("hours_ago", "since", "expected"),
    [
        pytest.param(71, None, [1], id="inside-3-days"),
        pytest.param(73, None, [], id="older-than-github-keeps"),
        pytest.param(25, timedelta(hours=24), [], id="older-than-since"),
        pytest.param(80, timedelta(days=7), [], id="since-capped-at-3-days"),
    ],
)
def test_only_recent_failures_are_redelivered(
    hours_ago: float, since: timedelta | None, expected: list[int]
) -> None:
    kwargs = {} if since is None else {"since": since}
    assert chosen_ids([entry(1, "g1", 500, hours_ago=hours_ago)], **kwargs) == expected


def test_candidates_come_oldest_first() -> None:
    log = [
        entry(3, "c", 500, hours_ago=1),
        entry(2, "b", 500, hours_ago=3),
        entry(1, "a", 500, hours_ago=2),
    ]
    assert chosen_ids(log) == [2, 1, 3]


def test_malformed_entries_are_skipped() -> None:
    assert chosen_ids([{"id": 9}, {"guid": "x", "delivered_at": None}, entry(1, "g", 500)]) == [1]


def test_a_delivery_that_keeps_failing_is_redelivered_a_bounded_number_of_times() -> None:
    log = [entry(1, "g", 503, hours_ago=10)]
    log += [entry(1 + n, "g", 503, hours_ago=10 - n, redelivery=True) for n in range(1, 3)]
    assert chosen_ids(log) == [3]  # two redeliveries so far: one more is allowed
    log.append(entry(4, "g", 503, hours_ago=1, redelivery=True))
    assert chosen_ids(log) == []


def test_an_attempt_that_may_still_be_under_way_waits_for_a_later_sweep() -> None:
    just_now = entry(2, "g", 0, hours_ago=10 / 3600)  # ten seconds ago, no answer recorded yet
    assert chosen_ids([just_now, entry(1, "g", 503, hours_ago=5)]) == []
    assert chosen_ids([just_now]) == []
    assert chosen_ids([entry(3, "h", 0, hours_ago=2 / 60)]) == [3]  # two minutes: it failed
