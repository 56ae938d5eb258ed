"""Shared fixtures. Tests never reach the internet: a guard fails any connection off loopback.

The fixtures every kind of test shares: ``github_world`` (a served fake GitHub with an app installed
on it and their clock, from :func:`snekomatic.gh.testing.open_github_world`), ``loopback_clock`` (Trio's
MockClock for tests on real sockets) and ``http`` (the one test HTTP client; a module says what it
talks to by overriding ``http_transport``, ``http_base_url`` or ``http_headers``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
import trio.testing

from snekomatic.gh.testing import FakeClock, GitHubWorld, generate_private_key, open_github_world
from snekomatic.logs import configure_logging
from tests.log_scanner import CAPTURED, KNOWN_SECRETS, find_leaks, remember_secret

pytest_plugins = ["tests.databases"]

TEST_USER_AGENT = "snekomatic-tests"


def pytest_configure(config: pytest.Config) -> None:
    """Capture every log line of the run, for the secrets scan at the end (tests/log_scanner.py)."""
    configure_logging("debug", json=True, stream=CAPTURED)  # stdlib logging too, as in production
    remember_secret(generate_private_key())  # the key every test app uses


# Under pytest-xdist each worker scans its own log lines and hands what it found to the controller,
# which reports them all: a worker's exit status and output would be lost.
_WORKER_LEAKS = pytest.StashKey[list[str]]()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = find_leaks(CAPTURED.getvalue(), KNOWN_SECRETS)
    workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker
        workeroutput["secret_leaks"] = leaks
        return
    leaks += session.config.stash.get(_WORKER_LEAKS, [])
    if leaks:
        print("\nSECRETS FOUND IN THE LOGS OF THIS RUN:\n  " + "\n  ".join(sorted(set(leaks))))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple):
        host = address[0]
    else:
        return True  # AF_UNIX paths and the like stay on this machine
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_internet(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail loudly if a test tries to open a connection to anything but loopback.

    Tests marked ``live`` (opt-in, with real credentials) are the only exception.
    """
    if request.node.get_closest_marker("live"):
        yield
        return
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"test tried to connect off loopback: {address!r}")
        return real_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise AssertionError(f"test tried to connect off loopback: {address!r}")
        return real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    yield


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """On xdist's controller, as each worker stops: keep the secrets its scan found."""
    leaks = getattr(node, "workeroutput", {}).get("secret_leaks", [])
    node.config.stash.setdefault(_WORKER_LEAKS, []).extend(leaks)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (``make test``): one worker per CPU this process may use, at least two and at most
    four. The tests mostly wait on sockets and child processes (run one at a time, they keep one CPU
    less than half busy), and the throwaway PostgreSQL allows 200 connections."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(2, min(usable or 1, 4))  # sched_getaffinity: Linux; cpu_count elsewhere (macOS)


@pytest.fixture(scope="session")
def test_database_url() -> str:
    """The PostgreSQL server ``make test`` provides (tools/with_postgres.py)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.fail("TEST_DATABASE_URL is not set: run the tests with `make test`")
    return url


@pytest.fixture
def autojump_threshold() -> float:
    """Real seconds every task must have waited before ``loopback_clock`` jumps: long enough for a
    loopback socket to answer. A conftest whose tests also wait on threads overrides it."""
    return 0.05


@pytest.fixture
def loopback_clock(autojump_threshold: float) -> trio.testing.MockClock:
    """Trio's MockClock for tests that wait on real I/O: virtual time jumps only after
    ``autojump_threshold`` real seconds with every task blocked, so I/O still in flight does not make
    it jump. pytest-trio runs a test on it only if the test itself takes it as an argument."""
    return trio.testing.MockClock(autojump_threshold=autojump_threshold)


@pytest.fixture
def world_clock() -> Callable[[], float]:
    """The wall clock of ``github_world``: a FakeClock on the event loop's clock (virtual under
    ``loopback_clock``). A module whose bot runs as another process overrides it with ``time.time``."""
    return FakeClock()


@pytest.fixture
async def github_world(world_clock: Callable[[], float]) -> AsyncIterator[GitHubWorld]:
    """A served fake GitHub, the organization ``octo-org`` with the app installed, a GitHubApp for it,
    and ``world_clock`` for both (see :func:`snekomatic.gh.testing.open_github_world`)."""
    async with open_github_world(clock=world_clock) as world:
        yield world


@pytest.fixture
def http_transport() -> httpx.AsyncBaseTransport | None:
    """What ``http`` sends through. None: real connections (loopback only). A module overrides it
    with an ``httpx.MockTransport`` for scripted answers, or an ``httpx.ASGITransport`` for an app
    reached in-process."""
    return None


@pytest.fixture
def http_base_url() -> str:
    """The base URL of ``http``'s relative URLs ("": none). A module overrides it with its server's."""
    return ""


@pytest.fixture
def http_headers() -> dict[str, str]:
    """Headers ``http`` sends with every request besides ``User-Agent: snekomatic-tests`` (a
    module's credentials, say); per-request ``headers=`` win over them."""
    return {}


@pytest.fixture
async def http(
    http_transport: httpx.AsyncBaseTransport | None,
    http_base_url: str,
    http_headers: dict[str, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """The tests' HTTP client: it follows no redirect, reads no proxy settings from the environment,
    and gives a server 30 s to answer (another process may be busy). What it talks to:
    ``http_transport``, ``http_base_url`` and ``http_headers``."""
    async with httpx.AsyncClient(
        transport=http_transport,
        base_url=http_base_url,
        headers={"User-Agent": TEST_USER_AGENT, **http_headers},
        timeout=30,
        trust_env=False,
    ) as client:
        yield client

