"""The composition root's process-level set-up."""

from __future__ import annotations

import datetime as dt
import gc
import socket

import trio
from structlog.testing import capture_logs

from snekomatic.gh.errors import NotFound
from snekomatic.runtime import report_failed_attempt, run_until_signalled
from snekomatic.store import Delivery, DeliveryStatus


class ObservedService:
    """Stands in for the Service ``run_until_signalled`` serves: looks at the collector's view of
    the heap when it starts running, then returns (as on a signal)."""

    def __init__(self) -> None:
        self.startup_heap_frozen: bool | None = None
        self.later_objects_frozen: bool | None = None

    async def run(self, *, listening_socket: socket.socket | None, stop: trio.Event) -> None:
        later = ObservedService()
        tracked = gc.get_objects()  # what full collections walk: frozen objects are not in it
        self.startup_heap_frozen = not any(obj is self for obj in tracked)
        self.later_objects_frozen = not any(obj is later for obj in tracked)


async def test_serving_freezes_the_heap_built_at_start_up_but_not_what_comes_after() -> None:
    service = ObservedService()  # built before serving starts, as the app and its settings are
    try:
        await run_until_signalled(service, listening_socket=None)  # type: ignore[arg-type]
    finally:
        gc.unfreeze()
    # Full collections no longer walk the start-up heap (that walk stalled the event loop), while
    # what the process allocates afterwards is collected as usual.
    assert (service.startup_heap_frozen, service.later_objects_frozen) == (True, False)


def _delivery() -> Delivery:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return Delivery(
        id=1,
        hook_id=1,
        delivery_id="d-7",
        event="issue_comment",
        action="created",
        installation_id=3,
        received_at=now,
        status=DeliveryStatus.LEASED,
        attempts=2,
        next_attempt_at=now,
        lease_owner="w",
        lease_expires_at=now,
        last_error=None,
        finished_at=None,
        body=b"{}",
        headers={},
    )


def test_a_failed_attempt_is_logged_with_its_root_cause_not_1_sub_exception() -> None:
    failure = ExceptionGroup(
        "1 handler(s) failed for issue_comment delivery d-7", [NotFound(404, "Not Found")]
    )
    with capture_logs() as logs:
        report_failed_attempt(_delivery(), failure, False)
    [line] = [line for line in logs if line["event"] == "delivery failed"]
    assert (line["error"], line["attempt"], line["dead_letter"]) == (
        "NotFound: 404: Not Found",
        2,
        False,
    )
