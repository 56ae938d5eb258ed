"""Lease owners that name their process, and telling from the same machine that one has died."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from snekomatic.inbox import ProcessIdentity
from snekomatic.inbox._owners import UNKNOWN, dead_owners, start_ticks
from snekomatic.store import Store
from tests.store.builders import NOW, new_delivery

HERE = ProcessIdentity(host="web-1", pid_namespace="4026531836", pid=100, start="5000", nonce="aa")


def owner(**changes: object) -> str:
    return replace(HERE, nonce="bb", **changes).name + "/0"  # type: ignore[arg-type]


def test_an_owner_name_parses_back_to_its_identity() -> None:
    identity = ProcessIdentity.current()
    assert ProcessIdentity.parse(identity.name + "/3") == identity
    assert ProcessIdentity.parse(identity.name) == identity
    assert ProcessIdentity.parse("proc-hang/0") is None
    assert ProcessIdentity.parse("host:1:2:abc") is None


def test_this_process_has_a_start_time_and_a_dead_pid_has_none() -> None:
    assert start_ticks(os.getpid()) not in (None, UNKNOWN)
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True
    )
    assert start_ticks(int(finished.stdout)) is None


@pytest.mark.parametrize(
    ("changes", "now_started", "dead"),
    [
        ({"pid": 200}, None, True),  # its pid is gone
        ({"pid": 200}, "7000", True),  # its pid is another process now
        ({"pid": 200}, "5000", False),  # alive
        ({"pid": 200}, UNKNOWN, False),  # cannot tell
        ({"pid": 200, "host": "web-2"}, None, False),  # another machine
        ({"pid": 200, "pid_namespace": "999"}, None, False),  # another container
        ({"pid": 200, "start": UNKNOWN}, "7000", False),  # wrote no start time
        ({}, None, False),  # this very process, another component
    ],
)
def test_only_owners_known_dead_on_this_machine_are_dead(
    changes: dict[str, object], now_started: str | None, dead: bool
) -> None:
    name = owner(**changes)
    assert dead_owners([name], HERE, started=lambda pid: now_started) == ({name} if dead else set())


def test_nothing_is_judged_without_a_pid_namespace() -> None:
    blind = replace(HERE, pid_namespace=UNKNOWN)
    name = replace(blind, pid=200).name
    assert dead_owners([name], blind, started=lambda pid: None) == set()


def test_expired_leases_of_dead_owners_are_claimable_at_once(store: Store) -> None:
    store.insert_deliveries([new_delivery("a"), new_delivery("b")])
    first = store.claim_next_delivery("dead/0", now=NOW, lease=60)
    second = store.claim_next_delivery("alive/0", now=NOW, lease=60)
    assert first is not None and second is not None
    assert store.lease_owners() == {"dead/0", "alive/0"}

    assert store.expire_leases(["dead/0"], now=NOW) == 1

    again = store.claim_next_delivery("successor/0", now=NOW, lease=60)
    assert again is not None and (again.id, again.attempts) == (first.id, 2)
    assert store.claim_next_delivery("successor/1", now=NOW, lease=60) is None
    assert store.complete_delivery(first.id, "dead/0", now=NOW) is False
    assert store.lease_owners() == {"successor/0", "alive/0"}
    assert store.expire_leases([], now=NOW) == 0
