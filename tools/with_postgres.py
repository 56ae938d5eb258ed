#!/usr/bin/env python3
"""Run a command with a reachable PostgreSQL, exported as ``TEST_DATABASE_URL``.

Usage: ``python tools/with_postgres.py [--keep-fsync] -- COMMAND [ARGS...]``

Where the server comes from, in order:

1. ``TEST_DATABASE_URL`` already set: used as it is.
2. A server listening on 127.0.0.1:5432 that accepts user ``postgres`` without a password.
3. A private throwaway cluster made with the installed PostgreSQL binaries (``initdb`` / ``pg_ctl``)
   in a temporary directory, on a free loopback port, run as the ``postgres`` user when we are root
   (PostgreSQL refuses to run as root). It is stopped and deleted when the command ends.

If none of these works, it exits with status 2 and says how to get a server. Standard library only:
it runs before the project's virtual environment is trusted to be complete.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

HOW_TO_GET_ONE = (
    "No PostgreSQL server could be had for the tests. Either set TEST_DATABASE_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/postgres), start a server on 127.0.0.1:5432 that "
    "accepts the user 'postgres', or install the PostgreSQL server binaries "
    "(Debian: apt-get install postgresql) so that a throwaway cluster can be started."
)


def fail(message: str) -> None:
    print(f"with_postgres: {message}", file=sys.stderr)
    sys.exit(2)


def port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def find_pg_bin() -> str | None:
    """The newest installed PostgreSQL ``bin`` directory that has initdb and pg_ctl."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(p.split("/")[-2]) if p.split("/")[-2].isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(os.path.dirname(on_path))
    for directory in candidates:
        if os.access(os.path.join(directory, "initdb"), os.X_OK) and os.access(
            os.path.join(directory, "pg_ctl"), os.X_OK
        ):
            return directory
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_on_5432_accepts_postgres() -> bool:
    if not port_is_open("127.0.0.1", 5432):
        return False
    psql = shutil.which("psql") or (
        os.path.join(find_pg_bin() or "", "psql") if find_pg_bin() else None
    )
    if not psql:
        # Cannot check the credentials without a client; let the tests try it.
        return True
    result = subprocess.run(
        [
            psql,
            "-h",
            "127.0.0.1",
            "-p",
            "5432",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atc",
            "select 1",
        ],
        env={**os.environ, "PGCONNECT_TIMEOUT": "3"},
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


class Cluster:
    """A running throwaway cluster: its ``url``, and ``restart()`` for tests that survive one."""

    def __init__(self, url: str, restart: Callable[[], None]) -> None:
        self.url = url
        self.restart = restart


@contextlib.contextmanager
def throwaway_cluster(bindir: str, *, fsync: bool) -> Iterator[Cluster]:
    """Start a private cluster; yield it; stop and delete it afterwards."""
    as_root = os.geteuid() == 0
    workdir = tempfile.mkdtemp(prefix="snekomatic-pg-")
    datadir = os.path.join(workdir, "data")
    logfile = os.path.join(workdir, "server.log")
    runas: list[str] = []
    if as_root:
        try:
            pg_user = pwd.getpwnam("postgres")
        except KeyError:
            fail(
                "running as root but there is no 'postgres' user to run the server as. "
                + HOW_TO_GET_ONE
            )
        os.chown(workdir, pg_user.pw_uid, pg_user.pw_gid)
        os.chmod(workdir, 0o700)
        runas = ["runuser", "-u", "postgres", "--"] if shutil.which("runuser") else []
        if not runas:
            fail("running as root but 'runuser' is missing, so the server cannot be started.")

    def run(*args: str) -> None:
        result = subprocess.run([*runas, *args], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = ""
            with contextlib.suppress(OSError), open(logfile) as fh:
                log = fh.read()[-2000:]
            fail(
                f"{args[0]} failed ({result.returncode}): {result.stderr.strip()}\n{log}\n{HOW_TO_GET_ONE}"
            )

    port = free_port()
    run(
        os.path.join(bindir, "initdb"),
        "-D",
        datadir,
        "-U",
        "postgres",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--no-sync",
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {workdir} -c max_connections=200"
        " -c shared_buffers=128MB"
    )
    if not fsync:
        # The test suite's data is thrown away at the end; durability would only slow it.
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    pg_ctl = os.path.join(bindir, "pg_ctl")
    server = [pg_ctl, "-D", datadir, "-l", logfile, "-o", options, "-w", "-t", "60"]
    run(*server, "start")

    def restart() -> None:
        run(*server, "-m", "fast", "restart")

    try:
        yield Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", restart)
    finally:
        subprocess.run(
            [*runas, os.path.join(bindir, "pg_ctl"), "-D", datadir, "-m", "fast", "-w", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str]) -> int:
    fsync = False
    if argv and argv[0] == "--keep-fsync":
        fsync = True
        argv = argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        fail("usage: with_postgres.py [--keep-fsync] -- COMMAND [ARGS...]")

    def run_command(url: str) -> int:
        env = {**os.environ, "TEST_DATABASE_URL": url}
        proc = subprocess.Popen(argv, env=env)
        try:
            return proc.wait()
        except KeyboardInterrupt:
            proc.send_signal(signal.SIGINT)
            return proc.wait()

    if os.environ.get("TEST_DATABASE_URL"):
        print("with_postgres: using TEST_DATABASE_URL", file=sys.stderr)
        return run_command(os.environ["TEST_DATABASE_URL"])
    if server_on_5432_accepts_postgres():
        print("with_postgres: using the server on 127.0.0.1:5432", file=sys.stderr)
        return run_command("postgresql://postgres@127.0.0.1:5432/postgres")
    bindir = find_pg_bin()
    if bindir is None:
        fail(HOW_TO_GET_ONE)
        return 2
    started = time.monotonic()
    with throwaway_cluster(bindir, fsync=fsync) as cluster:
        print(
            f"with_postgres: started a throwaway cluster from {bindir} at {cluster.url} "
            f"in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
        return run_command(cluster.url)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
