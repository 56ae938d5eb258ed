"""Named leases (one sweeper at a time) and redelivery requests (each asked for once)."""

from __future__ import annotations

from snekomatic.store import Store
from tests.store.builders import NOW, seconds
from tests.store.test_concurrency import run_together

TTL = 60.0


def test_free_lease_is_acquired(store: Store) -> None:
    assert store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW)


def test_held_lease_is_refused_to_another_owner(store: Store) -> None:
    store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW)

    assert store.try_acquire_lease("sweep", "b", ttl=TTL, now=NOW + seconds(TTL - 1)) is False


def test_holder_extends_its_lease(store: Store) -> None:
    store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW)

    assert store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW + seconds(50))
    assert store.try_acquire_lease("sweep", "b", ttl=TTL, now=NOW + seconds(TTL + 1)) is False


def test_expired_lease_is_taken_over(store: Store) -> None:
    store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW)

    assert store.try_acquire_lease("sweep", "b", ttl=TTL, now=NOW + seconds(TTL))
    assert store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW + seconds(TTL)) is False


def test_relinquished_lease_is_free_at_once(store: Store) -> None:
    store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW)

    assert store.relinquish_lease("sweep", "a")

    assert store.try_acquire_lease("sweep", "b", ttl=TTL, now=NOW)


def test_only_the_holder_can_relinquish(store: Store) -> None:
    store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW)

    assert store.relinquish_lease("sweep", "b") is False


def test_leases_with_different_names_are_independent(store: Store) -> None:
    store.try_acquire_lease("sweep", "a", ttl=TTL, now=NOW)

    assert store.try_acquire_lease("other", "b", ttl=TTL, now=NOW)


def test_one_of_eight_racing_owners_gets_the_lease(store: Store) -> None:
    owners = iter(range(8))

    def race() -> bool:
        return store.try_acquire_lease("sweep", f"owner-{next(owners)}", ttl=TTL, now=NOW)

    assert sorted(run_together(8, race)) == [False] * 7 + [True]


def test_redelivery_is_recorded_once(store: Store) -> None:
    assert store.record_redelivery_request(123, "guid-1", now=NOW)

    assert store.record_redelivery_request(123, "guid-1", now=NOW + seconds(1)) is False


def test_forgotten_redelivery_can_be_recorded_again(store: Store) -> None:
    store.record_redelivery_request(123, "guid-1", now=NOW)

    store.forget_redelivery_request(123)

    assert store.record_redelivery_request(123, "guid-1", now=NOW)


def test_requested_redeliveries_lists_only_recorded_ids(store: Store) -> None:
    store.record_redelivery_request(1, "g1", now=NOW)
    store.record_redelivery_request(3, "g3", now=NOW)

    assert store.requested_redeliveries([1, 2, 3]) == {1, 3}
