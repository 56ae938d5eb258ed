"""Many threads against one database: duplicates stay single, each delivery is claimed once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from snekomatic.store import DeliveryStatus, Store
from tests.store.builders import NOW, new_delivery

T = TypeVar("T")


def run_together(count: int, task: Callable[[], T]) -> list[T]:
    """Run ``task`` in ``count`` threads released at the same moment; their results."""
    barrier = threading.Barrier(count, timeout=30)

    def start_together() -> T:
        barrier.wait()
        return task()

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start_together) for _ in range(count)]
        return [future.result(timeout=60) for future in futures]


def test_same_delivery_inserted_by_ten_threads_is_one_row(store: Store) -> None:
    delivery = new_delivery("the-one")

    results = run_together(10, lambda: store.insert_deliveries([delivery]))

    assert sorted(results) == [[False]] * 9 + [[True]]
    assert store.count_by_status()[DeliveryStatus.PENDING] == 1


def test_four_workers_claim_each_of_500_deliveries_exactly_once(store: Store) -> None:
    store.insert_deliveries([new_delivery(f"d{i}") for i in range(500)])

    def work(worker: int) -> list[int]:
        claimed: list[int] = []
        owner = f"worker-{worker}"
        while (delivery := store.claim_next_delivery(owner, now=NOW, lease=600.0)) is not None:
            claimed.append(delivery.id)
            assert store.complete_delivery(delivery.id, owner, now=NOW)
        return claimed

    workers = iter(range(4))
    lock = threading.Lock()

    def next_worker() -> list[int]:
        with lock:
            worker = next(workers)
        return work(worker)

    claims = Counter(i for claimed in run_together(4, next_worker) for i in claimed)

    assert len(claims) == 500
    assert set(claims.values()) == {1}
    assert store.count_by_status()[DeliveryStatus.DONE] == 500
