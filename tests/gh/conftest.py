"""The library's tests: ``http`` (tests/conftest.py) sends through ``server``'s scripted answers
(:class:`tests.gh.scripted.Script`, an ``httpx.MockTransport`` handler), whatever the host; a module
whose tests talk to something else overrides ``http_transport``."""

from __future__ import annotations

import httpx
import pytest

from tests.gh.scripted import Script


@pytest.fixture
def server() -> Script:
    return Script()


@pytest.fixture
def http_transport(server: Script) -> httpx.AsyncBaseTransport:
    return httpx.MockTransport(server)
