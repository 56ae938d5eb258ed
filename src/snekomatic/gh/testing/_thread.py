"""Serving the fake from a thread of its own, for programs whose other work is not in its event loop.

A test run by pytest-trio gets a new Trio run per test, and a load generator or soak wants its own
loop busy with sending: in both, the fake must keep answering in between. So it runs in a daemon
thread with its own Trio run, and every touch of its state goes through that thread (the fake is not
thread-safe).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import ParamSpec, TypeVar

import trio

from snekomatic.gh.testing._fake import FakeGitHub
from snekomatic.gh.testing._serve import serve_fake_github

P = ParamSpec("P")
T = TypeVar("T")

START_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class FakeGitHubThread:
    """A :class:`FakeGitHub` served from its own thread: its ``base_url``, and ways to reach it.

    ``call`` and ``call_async`` block the calling thread until the fake's thread has run the function;
    call them from any thread but the fake's (from Trio code: through ``trio.to_thread.run_sync``).
    """

    fake: FakeGitHub
    base_url: str
    token: trio.lowlevel.TrioToken

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` run on the fake's thread; its result (or its exception)."""
        return trio.from_thread.run_sync(partial(fn, *args, **kwargs), trio_token=self.token)

    def call_async(self, fn: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """``await fn(*args, **kwargs)`` in the fake's Trio run; its result (or its exception)."""
        return trio.from_thread.run(partial(fn, *args, **kwargs), trio_token=self.token)


@contextmanager
def fake_github_thread(
    fake: FakeGitHub, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[FakeGitHubThread]:
    """Serve ``fake`` on ``host:port`` (0: any free port) from a new thread until the block ends.

    Sets ``fake.base_url``. Raises ``RuntimeError`` if the server does not start within 30 s (the
    thread's own error, such as a port in use, is chained). On exit the server is cancelled and the
    thread joined; open connections are dropped.
    """
    started: queue.Queue[tuple[trio.lowlevel.TrioToken, str, trio.CancelScope] | BaseException] = (
        queue.Queue()
    )

    async def host_fake() -> None:
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                url = await nursery.start(partial(serve_fake_github, fake, host=host, port=port))
                started.put((trio.lowlevel.current_trio_token(), url, scope))
                await trio.sleep_forever()

    def thread_main() -> None:
        try:
            trio.run(host_fake)
        except BaseException as error:  # noqa: BLE001 - handed to the starter, who re-raises it
            started.put(error)

    thread = threading.Thread(target=thread_main, name="fake-github", daemon=True)
    thread.start()
    try:
        ready = started.get(timeout=START_TIMEOUT_SECONDS)
    except queue.Empty:
        raise RuntimeError("the fake GitHub did not start") from None
    if isinstance(ready, BaseException):
        thread.join()
        raise RuntimeError("the fake GitHub failed to start") from ready
    token, url, scope = ready
    try:
        yield FakeGitHubThread(fake=fake, base_url=url, token=token)
    finally:
        token.run_sync_soon(scope.cancel)  # thread-safe, from inside a Trio run or not
        thread.join(timeout=10)
