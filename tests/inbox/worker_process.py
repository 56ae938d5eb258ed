"""A worker process for the crash tests: ``python -m tests.inbox.worker_process URL MODE LOG``.

It processes stored deliveries with a lease of 1.5 s. MODE ``hang``: announce the delivery on stdout,
then hang forever (the test kills it). MODE ``work``: announce it, append its id to LOG, announce done.
"""

from __future__ import annotations

import sys
from functools import partial

import trio

from snekomatic.inbox import WorkerPolicy, Workers
from snekomatic.inbox._queue import StoreQueue
from snekomatic.store import Delivery, Store, StoreUnavailable, create_store_engine

POLICY = WorkerPolicy(lease=1.5, renew_every=0.5, deadline=30, poll_interval=0.1, grace=1)


async def main(url: str, mode: str, log_path: str) -> None:
    store = Store(create_store_engine(url))

    async def process(delivery: Delivery) -> None:
        print(f"started {delivery.delivery_id} attempt {delivery.attempts}", flush=True)
        if mode == "hang":
            await trio.sleep_forever()
        async with await trio.open_file(log_path, "a") as log:
            await log.write(delivery.delivery_id + "\n")
        print(f"finished {delivery.delivery_id}", flush=True)

    workers = Workers(
        StoreQueue(store),
        process,
        count=1,
        name=f"proc-{mode}",
        policy=POLICY,
        unavailable=(StoreUnavailable,),
    )
    with trio.open_signal_receiver(15) as signals:
        async with trio.open_nursery() as nursery:
            await nursery.start(workers.run)
            async for _ in signals:
                await workers.stop()
                nursery.cancel_scope.cancel()
                break


if __name__ == "__main__":
    trio.run(partial(main, *sys.argv[1:4]))
