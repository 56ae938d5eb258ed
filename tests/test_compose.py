"""The composition root's process-level set-up."""

from __future__ import annotations

import datetime as dt
import gc

from structlog.testing import capture_logs

from snekomatic.gh.errors import NotFound
from snekomatic.runtime import freeze_startup_heap, report_failed_attempt
from snekomatic.store import Delivery, DeliveryStatus


def test_the_startup_heap_is_frozen_out_of_full_collections() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        freeze_startup_heap()

        # Everything alive now (modules, classes, this test's objects) is exempt from collection,
        # so a full collection no longer walks it: that walk is what stalled the event loop.
        assert gc.get_freeze_count() > 10_000
        gc.collect()
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


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
