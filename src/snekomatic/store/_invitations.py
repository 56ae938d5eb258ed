"""What the bot did, so that it does it once: invitations, keyed effects, and invitation pauses.

Handlers run at least once; they make their effects happen once by checking and recording a step
here, keyed by a natural key, before and after acting.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Row, case, func, or_, select, update

from snekomatic.store._engine import dialect_insert, transaction
from snekomatic.store._tables import effects, invitations, org_throttles

__all__ = ["Effect", "Invitation", "ThrottledOrg"]


@dataclass(frozen=True, kw_only=True)
class Invitation:
    """One person's invitation to one organization, by GitHub ids, and how far it got.

    ``state`` is the invite feature's own step name (the store does not interpret it). ``claimed_by``
    names the one task allowed to act on it until ``claimed_until`` (:meth:`~InvitationMethods.claim_invitation`).
    """

    org_id: int
    user_id: int
    org_login: str
    user_login: str
    state: str
    updated_at: dt.datetime
    pr_url: str | None = None
    invited_at: dt.datetime | None = None
    commented_at: dt.datetime | None = None
    comment_id: int | None = None
    last_error: str | None = None
    claimed_by: str | None = None
    claimed_until: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Effect:
    """A recorded step: ``state`` and JSON ``data`` under (``kind``, ``key``)."""

    kind: str
    key: str
    state: str
    data: Any
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class ThrottledOrg:
    """An organization whose invitations are paused until ``until``; ``org_login`` as its newest
    invitation names it (None if it has none)."""

    org_id: int
    org_login: str | None
    until: dt.datetime


def _invitation(row: Row[Any]) -> Invitation:
    return Invitation(**row._asdict())


def _effect(row: Row[Any]) -> Effect:
    return Effect(**row._asdict())


def _record_effect(
    conn: Connection, kind: str, key: str, *, state: str, data: Any, now: dt.datetime
) -> Effect | None:
    """:meth:`InvitationMethods.record_effect` inside the caller's transaction."""
    inserted = conn.execute(
        dialect_insert(conn, effects)
        .values(kind=kind, key=key, state=state, data=data, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["kind", "key"])
        .returning(effects.c.kind)
    ).first()
    if inserted is not None:
        return None
    where = (effects.c.kind == kind, effects.c.key == key)
    previous = conn.execute(select(effects).where(*where).with_for_update()).one()
    conn.execute(update(effects).where(*where).values(state=state, data=data, updated_at=now))
    return _effect(previous)


class InvitationMethods:
    """The invitation, effect and throttle methods of :class:`snekomatic.store.Store` (sync)."""

    engine: Engine

    def get_invitation(self, org_id: int, user_id: int) -> Invitation | None:
        """The invitation of ``user_id`` to ``org_id``, or None if there is none."""
        statement = select(invitations).where(
            invitations.c.org_id == org_id, invitations.c.user_id == user_id
        )
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(statement).one_or_none()
        return None if row is None else _invitation(row)

    def insert_invitation(
        self, invitation: Invitation, *, effect: tuple[str, str, Any] | None = None
    ) -> bool:
        """Store a new invitation; False (and nothing changed) if one exists for that org and user.

        Exactly one of several concurrent callers gets True: that one may go on to invite. With
        ``effect`` (kind, key, data), the winner also records that step, in state ``"recorded"`` at
        ``invitation.updated_at``, in the same transaction (as :meth:`record_effect` would).
        """
        with transaction(self.engine, write=True) as conn:
            statement = (
                dialect_insert(conn, invitations)
                .values(asdict(invitation))
                .on_conflict_do_nothing(index_elements=["org_id", "user_id"])
                .returning(invitations.c.org_id)
            )
            if conn.execute(statement).first() is None:
                return False
            if effect is not None:
                kind, key, data = effect
                _record_effect(
                    conn, kind, key, state="recorded", data=data, now=invitation.updated_at
                )
            return True

    def update_invitation(
        self, invitation: Invitation, *, expected_state: str, claimant: str | None = None
    ) -> bool:
        """Overwrite the stored invitation with ``invitation`` if its state is ``expected_state`` (and,
        with ``claimant``, if ``claimant`` holds its claim).

        Compare-and-set: False (and nothing changed) if the stored state differs, the claim is someone
        else's, or there is no such invitation: someone else moved it on.
        """
        values = asdict(invitation)
        conditions = [
            invitations.c.org_id == values.pop("org_id"),
            invitations.c.user_id == values.pop("user_id"),
            invitations.c.state == expected_state,
        ]
        if claimant is not None:
            conditions.append(invitations.c.claimed_by == claimant)
        statement = update(invitations).where(*conditions).values(values)
        with transaction(self.engine, write=True) as conn:
            return conn.execute(statement).rowcount == 1

    def claim_invitation(
        self, org_id: int, user_id: int, *, claimant: str, now: dt.datetime, until: dt.datetime
    ) -> Invitation | None:
        """Let ``claimant`` alone act on the invitation until ``until``; return it as now stored.

        Taken if nobody holds it, ``claimant`` already does (a retry of the same work), or the
        holder's claim ran out before ``now``. None (nothing changed) if another claimant holds it,
        or there is no such invitation. Of several concurrent callers, one at most gets it.
        """
        free = or_(
            invitations.c.claimed_by.is_(None),
            invitations.c.claimed_by == claimant,
            invitations.c.claimed_until < now,
        )
        statement = (
            update(invitations)
            .where(invitations.c.org_id == org_id, invitations.c.user_id == user_id, free)
            .values(claimed_by=claimant, claimed_until=until)
            .returning(*invitations.c)
        )
        with transaction(self.engine, write=True) as conn:
            row = conn.execute(statement).one_or_none()
        return None if row is None else _invitation(row)

    def list_invitations(self, org_id: int | None = None, *, limit: int = 100) -> list[Invitation]:
        """The most recently updated invitations (of ``org_id`` if given), newest first."""
        statement = select(invitations).order_by(invitations.c.updated_at.desc()).limit(limit)
        if org_id is not None:
            statement = statement.where(invitations.c.org_id == org_id)
        with transaction(self.engine, write=False) as conn:
            return [_invitation(row) for row in conn.execute(statement)]

    def count_invitations_by_state(self) -> dict[str, int]:
        """How many invitations are in each state (only the states some invitation is in)."""
        statement = select(invitations.c.state, func.count()).group_by(invitations.c.state)
        with transaction(self.engine, write=False) as conn:
            return {state: count for state, count in conn.execute(statement)}

    def record_effect(
        self, kind: str, key: str, *, state: str, data: Any, now: dt.datetime
    ) -> Effect | None:
        """Set the step (``kind``, ``key``) to ``state`` and ``data``; return what it was before.

        None means nobody had recorded this step: of several concurrent callers exactly one sees
        None (the insert decides; the others then wait for its row and update it in turn). ``data``
        must be JSON-serialisable and hold no secret.
        """
        with transaction(self.engine, write=True) as conn:
            return _record_effect(conn, kind, key, state=state, data=data, now=now)

    def get_effect(self, kind: str, key: str) -> Effect | None:
        """The step recorded under (``kind``, ``key``), or None."""
        statement = select(effects).where(effects.c.kind == kind, effects.c.key == key)
        with transaction(self.engine, write=False) as conn:
            row = conn.execute(statement).one_or_none()
        return None if row is None else _effect(row)

    def throttle_org(self, org_id: int, *, until: dt.datetime) -> None:
        """Pause invitations to ``org_id`` until ``until`` (a later pause already stored wins)."""
        with transaction(self.engine, write=True) as conn:
            insert = dialect_insert(conn, org_throttles).values(org_id=org_id, until=until)
            later = case(
                (insert.excluded.until > org_throttles.c.until, insert.excluded.until),
                else_=org_throttles.c.until,
            )
            conn.execute(
                insert.on_conflict_do_update(index_elements=["org_id"], set_={"until": later})
            )

    def org_throttled_until(self, org_id: int, *, now: dt.datetime) -> dt.datetime | None:
        """When the pause of ``org_id`` ends, or None if it is not paused at ``now``."""
        statement = select(org_throttles.c.until).where(
            org_throttles.c.org_id == org_id, org_throttles.c.until > now
        )
        with transaction(self.engine, write=False) as conn:
            return conn.execute(statement).scalar_one_or_none()

    def list_throttled_orgs(self, *, now: dt.datetime) -> list[ThrottledOrg]:
        """The organizations whose invitations are paused at ``now``, the pause ending first first."""
        newest_login = (
            select(invitations.c.org_login)
            .where(invitations.c.org_id == org_throttles.c.org_id)
            .order_by(invitations.c.updated_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        statement = (
            select(org_throttles.c.org_id, newest_login.label("org_login"), org_throttles.c.until)
            .where(org_throttles.c.until > now)
            .order_by(org_throttles.c.until, org_throttles.c.org_id)
        )
        with transaction(self.engine, write=False) as conn:
            return [ThrottledOrg(**row._asdict()) for row in conn.execute(statement)]
