"""A worker process killed with SIGKILL mid-delivery: the delivery completes exactly once, after the lease."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import trio

from snekomatic.store import DeliveryStatus, Store, run_sync
from tests.store.builders import new_delivery


class LineReader:
    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = b""

    async def line(self) -> str:
        while b"\n" not in self._buffer:
            chunk = await self._stream.receive_some()
            if not chunk:
                raise EOFError("the process closed its output")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode()


async def start_worker(url: str, mode: str, log: Path) -> tuple[trio.Process, LineReader]:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "tests.inbox.worker_process", url, mode, str(log)],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    return process, LineReader(process.stdout)


async def test_a_delivery_whose_worker_was_killed_completes_once_after_the_lease(
    store: Store, migrated_database: str, tmp_path: Path
) -> None:
    await run_sync(store.insert_deliveries, [new_delivery("crash-me")])
    completions = tmp_path / "completions.log"
    with trio.fail_after(60):
        doomed, doomed_out = await start_worker(migrated_database, "hang", completions)
        try:
            assert await doomed_out.line() == "started crash-me attempt 1"
            doomed.send_signal(signal.SIGKILL)
            assert await doomed.wait() == -signal.SIGKILL
        finally:
            doomed.kill()

        survivor, survivor_out = await start_worker(migrated_database, "work", completions)
        try:
            assert await survivor_out.line() == "started crash-me attempt 2"
            assert await survivor_out.line() == "finished crash-me"
            survivor.send_signal(signal.SIGTERM)
            assert await survivor.wait() == 0
        finally:
            survivor.kill()
    assert completions.read_text().splitlines() == ["crash-me"]
    [row] = await run_sync(store.list_deliveries)
    assert (row.status, row.attempts) == (DeliveryStatus.DONE, 2)
