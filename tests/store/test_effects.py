"""Invitations, keyed effects and invitation pauses: what lets handlers act exactly once."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy.exc import StatementError

from snekomatic.store import Invitation, Store, ThrottledOrg
from tests.store.builders import NOW, seconds
from tests.store.test_concurrency import run_together


def invitation(state: str = "inviting", **changes: object) -> Invitation:
    base = Invitation(
        org_id=10,
        user_id=20,
        org_login="python-trio",
        user_login="alice",
        state=state,
        updated_at=NOW,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_first_invitation_is_stored(store: Store) -> None:
    assert store.insert_invitation(invitation(pr_url="https://github.com/o/r/pull/1"))

    assert store.get_invitation(10, 20) == invitation(pr_url="https://github.com/o/r/pull/1")


def test_second_invitation_for_the_same_person_is_refused(store: Store) -> None:
    store.insert_invitation(invitation())

    assert store.insert_invitation(invitation(state="other")) is False
    stored = store.get_invitation(10, 20)
    assert stored is not None and stored.state == "inviting"


def test_a_new_invitation_records_its_effect_in_the_same_transaction(store: Store) -> None:
    context = {"pr": "https://github.com/o/r/pull/1", "team_id": 7}

    assert store.insert_invitation(invitation(), effect=("context", "10:20", context))

    effect = store.get_effect("context", "10:20")
    assert effect is not None
    assert (effect.state, effect.data, effect.created_at) == ("recorded", context, NOW)


def test_a_refused_invitation_records_no_effect(store: Store) -> None:
    store.insert_invitation(invitation())

    assert not store.insert_invitation(invitation(), effect=("context", "10:20", {"pr": "x"}))

    assert store.get_effect("context", "10:20") is None


def test_an_invitation_whose_effect_fails_is_not_stored(store: Store) -> None:
    unserialisable = {"pr": object()}  # JSON cannot hold it: the transaction rolls back

    with pytest.raises((TypeError, StatementError)):  # as each driver reports it
        store.insert_invitation(invitation(), effect=("context", "10:20", unserialisable))

    assert store.get_invitation(10, 20) is None


def test_invitation_advances_from_the_expected_state(store: Store) -> None:
    store.insert_invitation(invitation())
    invited = invitation("invited", invited_at=NOW + seconds(1), updated_at=NOW + seconds(1))

    assert store.update_invitation(invited, expected_state="inviting")

    assert store.get_invitation(10, 20) == invited


def test_invitation_does_not_advance_from_another_state(store: Store) -> None:
    store.insert_invitation(invitation("invited"))

    assert store.update_invitation(invitation("commented"), expected_state="inviting") is False
    stored = store.get_invitation(10, 20)
    assert stored is not None and stored.state == "invited"


def claim(store: Store, claimant: str, at: int = 0, ttl: int = 600) -> Invitation | None:
    return store.claim_invitation(
        10, 20, claimant=claimant, now=NOW + seconds(at), until=NOW + seconds(at + ttl)
    )


def test_unclaimed_invitation_is_claimed_and_returned_as_stored(store: Store) -> None:
    store.insert_invitation(invitation("invited"))

    claimed = claim(store, "delivery:a")

    assert claimed == invitation(
        "invited", claimed_by="delivery:a", claimed_until=NOW + seconds(600)
    )
    assert store.get_invitation(10, 20) == claimed


def test_claim_held_by_another_is_refused_until_it_runs_out(store: Store) -> None:
    store.insert_invitation(invitation("invited"))
    claim(store, "delivery:a")

    assert claim(store, "delivery:b", at=599) is None
    assert claim(store, "delivery:a", at=10) is not None  # the holder, retried, renews it
    assert claim(store, "delivery:b", at=609) is None
    taken = claim(store, "delivery:b", at=611)
    assert taken is not None and taken.claimed_by == "delivery:b"


def test_no_invitation_no_claim(store: Store) -> None:
    assert claim(store, "delivery:a") is None


def test_one_of_ten_concurrent_claimants_gets_the_invitation(store: Store) -> None:
    store.insert_invitation(invitation("invited"))
    names = iter(range(10))

    won = run_together(10, lambda: claim(store, f"delivery:{next(names)}"))

    assert len([c for c in won if c is not None]) == 1


def test_update_with_a_claimant_needs_its_claim(store: Store) -> None:
    store.insert_invitation(invitation("inviting"))
    claim(store, "delivery:a")
    invited = invitation("invited", claimed_by="delivery:a")

    assert (
        store.update_invitation(invited, expected_state="inviting", claimant="delivery:b") is False
    )
    assert store.update_invitation(invited, expected_state="inviting", claimant="delivery:a")


def test_list_invitations_filters_by_org(store: Store) -> None:
    store.insert_invitation(invitation())
    store.insert_invitation(invitation(org_id=11))

    assert [i.org_id for i in store.list_invitations(11)] == [11]


def test_count_invitations_by_state_counts_every_invitation(store: Store) -> None:
    for user_id, state in enumerate(["invited", "deferred", "invited", "member"]):
        store.insert_invitation(invitation(state, user_id=user_id))

    assert store.count_invitations_by_state() == {"invited": 2, "deferred": 1, "member": 1}


def test_count_invitations_by_state_of_no_invitation_is_empty(store: Store) -> None:
    assert store.count_invitations_by_state() == {}


def test_first_record_of_an_effect_has_no_previous(store: Store) -> None:
    previous = store.record_effect("comment", "o/r#1", state="posting", data={}, now=NOW)

    assert previous is None


def test_record_effect_returns_the_previous_step(store: Store) -> None:
    store.record_effect("comment", "o/r#1", state="posting", data={}, now=NOW)

    previous = store.record_effect(
        "comment", "o/r#1", state="posted", data={"comment_id": 7}, now=NOW + seconds(1)
    )

    assert previous is not None and (previous.state, previous.data) == ("posting", {})
    current = store.get_effect("comment", "o/r#1")
    assert current is not None
    assert (current.state, current.data, current.created_at, current.updated_at) == (
        "posted",
        {"comment_id": 7},
        NOW,
        NOW + seconds(1),
    )


def test_one_of_ten_concurrent_recorders_is_first(store: Store) -> None:
    results = run_together(
        10, lambda: store.record_effect("invite", "10/20", state="inviting", data=None, now=NOW)
    )

    assert sum(result is None for result in results) == 1


def test_unrecorded_effect_is_none(store: Store) -> None:
    assert store.get_effect("comment", "nothing") is None


def test_throttled_org_is_paused_until_the_given_time(store: Store) -> None:
    store.throttle_org(10, until=NOW + seconds(3600))

    assert store.org_throttled_until(10, now=NOW) == NOW + seconds(3600)
    assert store.org_throttled_until(10, now=NOW + seconds(3600)) is None


def test_shorter_throttle_does_not_cut_a_longer_one(store: Store) -> None:
    store.throttle_org(10, until=NOW + seconds(3600))

    store.throttle_org(10, until=NOW + seconds(60))

    assert store.org_throttled_until(10, now=NOW) == NOW + seconds(3600)


def test_longer_throttle_extends_the_pause(store: Store) -> None:
    store.throttle_org(10, until=NOW + seconds(60))

    store.throttle_org(10, until=NOW + seconds(3600))

    assert store.org_throttled_until(10, now=NOW) == NOW + seconds(3600)


def test_throttled_orgs_are_those_paused_at_now_ending_first_first(store: Store) -> None:
    store.throttle_org(10, until=NOW + seconds(3600))
    store.throttle_org(11, until=NOW + seconds(60))
    store.throttle_org(12, until=NOW)  # over at NOW

    assert [paused.org_id for paused in store.list_throttled_orgs(now=NOW)] == [11, 10]


def test_throttled_org_is_named_by_its_newest_invitation(store: Store) -> None:
    store.insert_invitation(invitation(user_id=1, org_login="old-name", updated_at=NOW))
    store.insert_invitation(
        invitation(user_id=2, org_login="new-name", updated_at=NOW + seconds(1))
    )
    store.throttle_org(10, until=NOW + seconds(60))
    store.throttle_org(11, until=NOW + seconds(60))

    assert store.list_throttled_orgs(now=NOW) == [
        ThrottledOrg(org_id=10, org_login="new-name", until=NOW + seconds(60)),
        ThrottledOrg(org_id=11, org_login=None, until=NOW + seconds(60)),
    ]
