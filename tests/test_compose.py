"""The composition root's process-level set-up."""

from __future__ import annotations

import gc

from snekomatic.compose import freeze_startup_heap


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
