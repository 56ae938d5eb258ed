"""Waking idle workers on PostgreSQL: NOTIFY when work becomes due now, LISTEN on its own connection.

On SQLite there is no such channel; workers poll (see ``Store.next_due_at``).
"""

from __future__ import annotations

from typing import Any, final

from sqlalchemy import Connection, Engine, text

from snekomatic.store._errors import StoreUnavailable

__all__ = ["DELIVERY_CHANNEL", "DeliveryListener", "notify_new_work"]

DELIVERY_CHANNEL = "snekomatic_deliveries"


def notify_new_work(conn: Connection) -> None:
    """Inside a write transaction: on PostgreSQL, wake listeners when it commits (no-op elsewhere)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": DELIVERY_CHANNEL})


@final
class DeliveryListener:
    """A dedicated PostgreSQL connection (outside the pool) listening for new due deliveries.

    Get one from :meth:`Store.open_delivery_listener`; call :meth:`wait` in a worker thread (through
    ``run_sync``) and :meth:`close` when done. A listener whose connection failed is useless: close
    it and open another.
    """

    def __init__(self, engine: Engine) -> None:
        import psycopg  # only PostgreSQL deployments need it

        cargs, cparams = engine.dialect.create_connect_args(engine.url)
        try:
            self._connection: Any = psycopg.connect(*cargs, **cparams, autocommit=True)
            self._connection.execute(f"LISTEN {DELIVERY_CHANNEL}")
        except psycopg.OperationalError as exc:
            raise StoreUnavailable("cannot listen for new deliveries") from exc
        self._psycopg = psycopg

    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds for a notification; True if one came (or had come).

        Notifications sent since the last call count, so work announced between two waits is not
        missed. Raises :class:`StoreUnavailable` if the connection is lost. Blocking: call it
        through ``run_sync`` with a short ``timeout`` (a few seconds), since a thread cannot be
        cancelled before the timeout ends.
        """
        try:
            for _ in self._connection.notifies(timeout=timeout, stop_after=1):
                return True
        except self._psycopg.OperationalError as exc:
            raise StoreUnavailable("lost the connection listening for new deliveries") from exc
        return False

    def close(self) -> None:
        """Close the connection. Idempotent."""
        self._connection.close()
