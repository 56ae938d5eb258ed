"""Every status a delivery can have, and every change of status the store may make.

Like h11's ``_state.py``: the rules live here, as a table, and nowhere else. Each store operation
names its transition; the statement it runs only matches rows whose status is one of the transition's
sources (and, for a leased row, whose ``lease_owner`` is the caller), so a worker that lost its lease
cannot complete, retry, dead-letter or release the delivery, and no other change of status can
happen. ``Transition`` pairs are checked against :data:`ALLOWED` when this module is imported.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["ALLOWED", "TRANSITIONS", "DeliveryStatus", "Transition"]


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for its next_attempt_at
    LEASED = "leased"  # a worker holds it until lease_expires_at
    DONE = "done"  # processed; finished_at set
    DEAD = "dead"  # gave up after the maximum attempts; last_error says why; replayable


PENDING, LEASED, DONE, DEAD = (
    DeliveryStatus.PENDING,
    DeliveryStatus.LEASED,
    DeliveryStatus.DONE,
    DeliveryStatus.DEAD,
)

# Every (from, to) pair that may ever happen. Anything else is a bug.
ALLOWED: Final[frozenset[tuple[DeliveryStatus, DeliveryStatus]]] = frozenset(
    {
        (PENDING, LEASED),  # claim
        (LEASED, LEASED),  # renew; or reclaim after the lease expired (the worker died)
        (LEASED, DONE),  # complete
        (LEASED, PENDING),  # retry with backoff; or release at graceful shutdown
        (LEASED, DEAD),  # dead letter
        (DEAD, PENDING),  # replay by hand
        (DONE, PENDING),  # replay by hand (effects are keyed, so a replay repeats nothing done)
    }
)


@dataclass(frozen=True)
class Transition:
    sources: tuple[DeliveryStatus, ...]
    target: DeliveryStatus


TRANSITIONS: Final[Mapping[str, Transition]] = {
    # pending and due, or leased with an expired lease
    "claim": Transition((PENDING, LEASED), LEASED),
    "renew": Transition((LEASED,), LEASED),
    "complete": Transition((LEASED,), DONE),
    "retry": Transition((LEASED,), PENDING),
    "release": Transition((LEASED,), PENDING),
    "dead_letter": Transition((LEASED,), DEAD),
    "replay": Transition((DEAD, DONE), PENDING),
}

for _name, _transition in TRANSITIONS.items():
    for _source in _transition.sources:
        if (_source, _transition.target) not in ALLOWED:  # pragma: no cover - import-time check
            raise AssertionError(f"{_name}: {_source} -> {_transition.target} is not allowed")
