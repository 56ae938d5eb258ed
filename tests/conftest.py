"""Shared fixtures. Tests never reach the internet: a guard fails any connection off loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from snekomatic.gh.testing import generate_private_key
from snekomatic.logs import configure_logging
from tests.log_scanner import CAPTURED, KNOWN_SECRETS, find_leaks, remember_secret

pytest_plugins = ["tests.databases"]


def pytest_configure(config: pytest.Config) -> None:
    """Capture every log line of the run, for the secrets scan at the end (tests/log_scanner.py)."""
    configure_logging("debug", json=True, stream=CAPTURED)  # stdlib logging too, as in production
    remember_secret(generate_private_key())  # the key every test app uses


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = find_leaks(CAPTURED.getvalue(), KNOWN_SECRETS)
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


@pytest.fixture(scope="session")
def test_database_url() -> str:
    """The PostgreSQL server ``make test`` provides (tools/with_postgres.py)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.fail("TEST_DATABASE_URL is not set: run the tests with `make test`")
    return url
