"""PostgreSQL LISTEN/NOTIFY: wake idle workers in every process as soon as a delivery is committed.

The web process commits deliveries with ``pg_notify(INBOX_CHANNEL, '')`` in the same transaction, so a
notification is only ever sent for committed work. Each worker process keeps one plain psycopg
connection LISTENing in a thread and rings its :class:`Doorbell`. Workers still poll now and then, so a
lost notification (a dropped connection, say) delays work by one poll interval at most; it never loses it.
"""

from __future__ import annotations

import threading

import psycopg
import trio

from snekomatic.inbox._workers import Doorbell

__all__ = ["INBOX_CHANNEL", "listen_for_new_deliveries"]

INBOX_CHANNEL = "snekomatic_inbox"


async def listen_for_new_deliveries(
    conninfo: str,
    doorbell: Doorbell,
    *,
    reconnect_delay: float = 2.0,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Ring ``doorbell`` for every notification on :data:`INBOX_CHANNEL`, until cancelled.

    ``conninfo`` is a libpq connection string or ``postgresql://`` URL. Connection failures are
    retried every ``reconnect_delay`` seconds. Reports readiness once the first LISTEN is active.
    On cancellation the listening thread is told to stop and exits within a second.
    """
    stop = threading.Event()
    token = trio.lowlevel.current_trio_token()
    started = False

    def listen_once() -> None:
        nonlocal started
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"LISTEN {INBOX_CHANNEL}")
            if not started:
                started = True
                trio.from_thread.run_sync(task_status.started, trio_token=token)
            while not stop.is_set():
                for _ in conn.notifies(timeout=1.0):
                    try:
                        trio.from_thread.run_sync(doorbell.ring, trio_token=token)
                    except trio.RunFinishedError:
                        return  # abandoned at shutdown; nobody is left to wake

    try:
        while True:
            try:
                await trio.to_thread.run_sync(listen_once, abandon_on_cancel=True)
            except psycopg.Error:
                # The database went away; workers keep polling meanwhile.
                await trio.sleep(reconnect_delay)
    finally:
        stop.set()
