"""Who holds a lease, and whether that process is dead: so a restarted bot resumes its work at once.

A worker that dies mid-delivery (SIGKILL, out of memory, a crash between two effects) leaves its
lease behind; without help the delivery waits for the lease to run out (a minute) before anyone
takes it up. But a process can tell for certain that another process on its own machine is gone,
and most restarts happen on the same machine (systemd, a supervisor, ``docker restart``, a developer's
Ctrl-C and up-arrow). So every lease owner's name says where its process runs::

    <host>:<pid namespace>:<pid>:<start time>:<random>[/<worker>]

and a process that finds leases held by a process of its own host and pid namespace whose pid is
gone, or is now another process (a different start time: the pid was reused), expires them at once
(:func:`reap_dead_owners`: at start-up before the first claim, then every few seconds). Anything it
cannot judge for certain (another machine, another pid namespace, no ``/proc``) it leaves to the
lease's expiry: two live processes never work on one delivery.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import structlog

from snekomatic.store import Store, run_sync

__all__ = ["ProcessIdentity", "dead_owners", "reap_dead_owners", "start_ticks"]

log = structlog.get_logger("snekomatic.inbox")

#: Written where a part of the identity cannot be known (no /proc): such a process is never judged.
UNKNOWN: Final = "-"


def start_ticks(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``), or None if it is gone.

    ``UNKNOWN`` where ``/proc`` cannot tell (not Linux).
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else UNKNOWN
    except (OSError, IndexError):
        return UNKNOWN
    if len(fields) <= 19:
        return UNKNOWN
    if fields[0] in (b"Z", b"X"):
        return None  # a zombie has died; only its parent has not collected it yet
    # Field 22 of proc(5), counted after the command name (which may contain spaces and parens).
    return fields[19].decode("ascii")


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return UNKNOWN


@dataclass(frozen=True)
class ProcessIdentity:
    """Where a lease owner's process runs: enough to tell, from the same machine, that it is gone."""

    host: str
    pid_namespace: str
    pid: int
    start: str
    nonce: str

    @classmethod
    def current(cls) -> ProcessIdentity:
        """This process (a new nonce at each call: two calls name two owners)."""
        pid = os.getpid()
        return cls(
            host=socket.gethostname(),
            pid_namespace=_pid_namespace(),
            pid=pid,
            start=start_ticks(pid) or UNKNOWN,
            nonce=secrets.token_hex(3),
        )

    @property
    def name(self) -> str:
        """The owner name leases are taken under (workers add ``/<index>``)."""
        return f"{self.host}:{self.pid_namespace}:{self.pid}:{self.start}:{self.nonce}"

    @classmethod
    def parse(cls, owner: str) -> ProcessIdentity | None:
        """The identity in a lease owner's name, or None if it was not written by :attr:`name`."""
        parts = owner.split("/", 1)[0].rsplit(":", 4)
        if len(parts) != 5 or not parts[2].isdigit():
            return None
        host, namespace, pid, start, nonce = parts
        return cls(host, namespace, int(pid), start, nonce)

    def sees(self, other: ProcessIdentity) -> bool:
        """Whether this process can judge ``other``'s liveness: same host, same known pid namespace."""
        return (
            self.host == other.host
            and self.pid_namespace != UNKNOWN
            and self.pid_namespace == other.pid_namespace
        )


def dead_owners(
    owners: Iterable[str],
    here: ProcessIdentity,
    *,
    started: Callable[[int], str | None] = start_ticks,
) -> set[str]:
    """The ``owners`` whose process is certainly gone, judged from ``here``.

    Dead: on a host and pid namespace ``here`` sees, with a known start time, whose pid no longer
    exists (``started(pid)`` is None) or started at another time. Never ``here`` itself, never an
    owner it cannot judge.
    """
    dead = set()
    for owner in owners:
        identity = ProcessIdentity.parse(owner)
        if identity is None or identity.start == UNKNOWN or not here.sees(identity):
            continue
        if identity.pid == here.pid and identity.start == here.start:
            continue  # this very process (another nonce: another component of ours)
        now_started = started(identity.pid)
        if now_started is None or (now_started != UNKNOWN and now_started != identity.start):
            dead.add(owner)
    return dead


async def reap_dead_owners(
    store: Store,
    here: ProcessIdentity,
    *,
    clock: Callable[[], dt.datetime],
    started: Callable[[int], str | None] = start_ticks,
) -> int:
    """Make the deliveries leased by dead processes of this machine claimable now; how many.

    Their attempt counts, as for any lease that expired. A checkpoint.
    """
    owners = await run_sync(store.lease_owners)
    dead = dead_owners(owners, here, started=started)
    if not dead:
        return 0
    freed = await run_sync(store.expire_leases, dead, now=clock())
    if freed:
        log.info("resuming deliveries of a process that died", deliveries=freed, owners=len(dead))
    return freed
