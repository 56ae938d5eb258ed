"""The delivery status table: every transition the store makes is allowed, and the database agrees."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError

import snekomatic.store
from snekomatic.store import DeliveryStatus, Store
from snekomatic.store._states import ALLOWED, TRANSITIONS
from snekomatic.store._tables import deliveries
from tests.store.builders import new_delivery


@pytest.mark.parametrize("name", sorted(TRANSITIONS), ids=sorted(TRANSITIONS))
def test_every_transition_is_in_the_allowed_table(name: str) -> None:
    transition = TRANSITIONS[name]

    assert {(source, transition.target) for source in transition.sources} <= ALLOWED


def test_nothing_leaves_done_or_dead_except_a_replay() -> None:
    leaving = {(a, b) for a, b in ALLOWED if a in (DeliveryStatus.DONE, DeliveryStatus.DEAD)}

    assert {(s, TRANSITIONS["replay"].target) for s in TRANSITIONS["replay"].sources} == leaving


def test_database_refuses_an_unknown_status(store: Store, engine: Engine) -> None:
    store.insert_deliveries([new_delivery()])

    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(update(deliveries).values(status="lost"))


def test_public_names_are_exactly_all() -> None:
    public = {name for name in vars(snekomatic.store) if not name.startswith("_")}

    assert set(snekomatic.store.__all__) == public - {"annotations"}
