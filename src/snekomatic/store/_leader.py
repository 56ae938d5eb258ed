"""Coordination between processes: named leases (one sweeper at a time) and redelivery requests
(each failed delivery asked of GitHub once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Engine, delete, or_, select

from snekomatic.store._engine import dialect_insert, transaction
from snekomatic.store._tables import leader_leases, redelivery_requests


class LeaderMethods:
    """The lease and redelivery methods of :class:`snekomatic.store.Store` (sync)."""

    engine: Engine

    def try_acquire_lease(self, name: str, owner: str, *, ttl: float, now: dt.datetime) -> bool:
        """Take or extend the lease ``name`` for ``owner`` until ``now + ttl``; True on success.

        Succeeds if nobody holds it, if ``owner`` holds it already (an extension), or if the
        holder's lease expired at or before ``now``. One statement (an upsert with a condition), so
        of two processes racing for it exactly one wins. Call again before ``ttl`` runs out to
        keep it; stop the work it guards when this returns False.
        """
        expires_at = now + dt.timedelta(seconds=ttl)
        with transaction(self.engine, write=True) as conn:
            insert = dialect_insert(conn, leader_leases).values(
                name=name, owner=owner, expires_at=expires_at
            )
            statement = insert.on_conflict_do_update(
                index_elements=["name"],
                set_={"owner": insert.excluded.owner, "expires_at": insert.excluded.expires_at},
                where=or_(leader_leases.c.owner == owner, leader_leases.c.expires_at <= now),
            ).returning(leader_leases.c.owner)
            return conn.execute(statement).first() is not None

    def relinquish_lease(self, name: str, owner: str) -> bool:
        """Give up lease ``name`` if ``owner`` holds it, so another process may take it at once."""
        statement = delete(leader_leases).where(
            leader_leases.c.name == name, leader_leases.c.owner == owner
        )
        with transaction(self.engine, write=True) as conn:
            return conn.execute(statement).rowcount == 1

    def record_redelivery_request(
        self, github_delivery_id: int, guid: str, *, now: dt.datetime
    ) -> bool:
        """Note that a redelivery of ``github_delivery_id`` is being asked for; True the first time.

        Record first, then ask GitHub, only if this returned True; if asking fails, call
        :meth:`forget_redelivery_request` so a later sweep tries again.
        """
        with transaction(self.engine, write=True) as conn:
            statement = (
                dialect_insert(conn, redelivery_requests)
                .values(github_delivery_id=github_delivery_id, guid=guid, requested_at=now)
                .on_conflict_do_nothing(index_elements=["github_delivery_id"])
                .returning(redelivery_requests.c.github_delivery_id)
            )
            return conn.execute(statement).first() is not None

    def forget_redelivery_request(self, github_delivery_id: int) -> None:
        """Forget a recorded redelivery request (GitHub refused it or could not be reached)."""
        statement = delete(redelivery_requests).where(
            redelivery_requests.c.github_delivery_id == github_delivery_id
        )
        with transaction(self.engine, write=True) as conn:
            conn.execute(statement)

    def requested_redeliveries(self, github_delivery_ids: Iterable[int]) -> set[int]:
        """Those of ``github_delivery_ids`` whose redelivery was already asked for."""
        wanted = list(dict.fromkeys(github_delivery_ids))
        found: set[int] = set()
        with transaction(self.engine, write=False) as conn:
            for start in range(0, len(wanted), 500):
                statement = select(redelivery_requests.c.github_delivery_id).where(
                    redelivery_requests.c.github_delivery_id.in_(wanted[start : start + 500])
                )
                found.update(conn.execute(statement).scalars())
        return found
