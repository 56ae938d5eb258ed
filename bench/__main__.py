"""``python -m bench``: the whole benchmark in one run; a readable report, and JSON in bench-results/.

Order: machine facts; receivers at concurrency 1, 10 and 50: the load generator's ceiling, bare
Hypercorn, (a) the signature-checking floor, the two durable peers of ../shared/peers (Probot +
node-postgres, gidgethub + aiohttp + asyncpg), ``snekomatic serve`` with its default workers on
PostgreSQL (c) and SQLite (b) (backlog at the load's end, seconds to drain), and with workers off
(c0, b0: ingest only, a diagnostic); RSS idle and after load for each; a summary; ratios to (a) and to
the faster peer; scale-out (N deliveries drained by 1, 2, 4 worker processes); signature checks and Link
parsing; the client's overhead over raw httpx; invite latency; the targets of issues 3 and 10.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import os
import platform
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from bench import databases, loadgen, micro, peers, processes, report
from bench.invite_latency import invite_latency_section
from bench.scaleout import scaleout_section
from bench.suite import Receiver, ReceiverResult, run_receiver, serve_env, snekomatic_serve_argv
from snekomatic.gh.sansio import signature_for

PAYLOAD = Path(
    "tests/fixtures/github-webhooks/payload-examples/api.github.com/pull_request/"
    "closed.with-organization.payload.json"
)
CONCURRENCIES = (1, 10, 50)
WEBHOOK_SECRET = "bench-webhook-secret"  # a throwaway secret for loopback servers
REPO = Path(__file__).resolve().parent.parent


def machine_facts(wrk: str | None) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    facts: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
        "load_generator": wrk or "python (httpx+trio)",
    }
    return facts


def private_key_pem() -> str:
    """A fresh RSA 2048 key in PEM (the app never signs anything that leaves loopback here)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def python_receiver(key: str, title: str, kind: str) -> Receiver:
    port = processes.free_port()
    return Receiver(
        key=key,
        title=title,
        argv=[sys.executable, "-m", "bench.receivers", kind, "--port", str(port)],
        port=port,
        env={**os.environ, "GITHUB_WEBHOOK_SECRET": WEBHOOK_SECRET},
        cwd=REPO,
    )


def default_workers() -> int:
    """How many in-process workers ``serve`` runs when SNEKOMATIC_WORKERS is unset."""
    from snekomatic.runtime import Settings

    return int(Settings.model_fields["workers"].default)


def serve_receiver(
    key: str,
    title: str,
    database_url: str,
    workdir: Path,
    *,
    workers: int | None,
    probe: databases.PostgresProbe | None = None,
) -> Receiver:
    """``snekomatic serve`` on ``database_url``; ``workers`` None: its default in-process workers,
    and the receiver's backlog is polled until drained after each run."""
    port = processes.free_port()
    env = serve_env(
        secret=WEBHOOK_SECRET,
        private_key=private_key_pem(),
        database_url=database_url,
        dead_api_url=f"http://{processes.HOST}:{processes.free_port()}",
        workers=workers,
    )
    if probe is not None:
        count, backlog = probe.count, probe.backlog
    else:
        count = partial(databases.count_sqlite, database_url)
        backlog = partial(databases.backlog_sqlite, database_url)
    return Receiver(
        key=key,
        title=title,
        label="snekomatic serve",
        argv=snekomatic_serve_argv(port),
        port=port,
        env=env,
        healthz="/healthz",
        ready_deadline=20.0,
        count_rows=count,
        backlog=backlog if workers is None else None,
        drain_deadline=DRAIN_DEADLINE_S,
        cwd=workdir,
    )


def peer_receiver(peer: peers.Peer, database_url: str) -> Receiver:
    """A durable peer on its own fresh database; rows counted through its ``GET /count``."""
    port = processes.free_port()
    env = {
        name: os.environ[name] for name in ("PATH", "HOME", "LANG", "TMPDIR") if name in os.environ
    }
    env.update(peer.env, DATABASE_URL=database_url, HOST=processes.HOST, PORT=str(port))
    env.update(GITHUB_WEBHOOK_SECRET=WEBHOOK_SECRET, WEBHOOK_SECRET=WEBHOOK_SECRET, APP_ID="1")
    argv = [*peer.argv, "--port", str(port)] if peer.key == "gidgethub" else list(peer.argv)
    base_url = f"http://{processes.HOST}:{port}"
    return Receiver(
        key=peer.key,
        title=peer.title,
        argv=argv,
        port=port,
        env=env,
        healthz="/count",  # answers once the table exists and the pool connects
        ready_deadline=30.0,
        count_rows=partial(peers.count_rows, base_url),
        cwd=peer.cwd,
        webhook_path=peer.webhook_path,
    )


RECEIVER_KEYS = ("ceiling", "hypercorn", "a", "probot", "gidgethub", "c", "b", "c0", "b0")
SERVE_TITLES = {
    "c": "snekomatic serve on PostgreSQL, default workers (as deployed)",
    "b": "snekomatic serve on SQLite, default workers (as deployed)",
    "c0": "snekomatic serve on PostgreSQL, workers off (diagnostic: ingest only)",
    "b0": "snekomatic serve on SQLite, workers off (diagnostic: ingest only)",
}
DRAIN_DEADLINE_S = 60.0


def run_receivers(
    load: Any, workdir: Path, only: frozenset[str] = frozenset(RECEIVER_KEYS)
) -> list[ReceiverResult]:
    """Every receiver in ``only``, in turn: the floors, the durable peers, then snekomatic.

    The peers and snekomatic on PostgreSQL each get a fresh database on the same server.
    """
    python_kinds = [
        ("ceiling", "trivial server: raw asyncio protocol, canned 202", "raw"),
        ("hypercorn", "bare ASGI 202 on Hypercorn (trio), body unread", "hypercorn"),
        ("a", "Hypercorn + Starlette, signature check only: the floor", "bare"),
    ]
    results = [
        run_receiver(python_receiver(key, title, kind), load, CONCURRENCIES, log_dir=workdir)
        for key, title, kind in python_kinds
        if key in only
    ]
    server = os.environ.get("TEST_DATABASE_URL")
    for peer in (peers.probot_peer(), peers.gidgethub_peer()):
        if peer.key not in only:
            continue
        if peer.skipped is None and not server:
            peer.skipped = "TEST_DATABASE_URL is not set (run it through `make bench`)"
        if peer.skipped is not None:
            print(f"\n--- ({peer.key}) {peer.title}\n    skipped: {peer.skipped}", flush=True)
            results.append(ReceiverResult(peer.key, peer.title, peer.skipped))
            continue
        assert server is not None
        with databases.fresh_postgres(server) as url:
            results.append(
                run_receiver(
                    peer_receiver(peer, url),
                    load,
                    CONCURRENCIES,
                    log_dir=workdir,
                    note=f"{peer.versions}; run from {peers.peers_dir()}",
                )
            )
    workers = default_workers()
    for key in ("c", "b", "c0", "b0"):
        if key not in only:
            continue
        serve_workers = None if key in ("c", "b") else 0
        note = (
            f"SNEKOMATIC_WORKERS unset: {workers} in-process workers; the payload is processed"
            " (pull_request closed, not merged: handled, no GitHub call)"
            if serve_workers is None
            else "SNEKOMATIC_WORKERS=0: stored, never processed"
        )
        if key in ("b", "b0"):
            sqlite_dir = workdir / f"sqlite-{key}"
            sqlite_dir.mkdir()
            receiver = serve_receiver(
                key,
                SERVE_TITLES[key],
                databases.sqlite_url(sqlite_dir),
                sqlite_dir,
                workers=serve_workers,
            )
            results.append(run_receiver(receiver, load, CONCURRENCIES, log_dir=workdir, note=note))
            continue
        if not server:
            print(f"\n({key}) skipped: TEST_DATABASE_URL is not set (run it through `make bench`)")
            results.append(ReceiverResult(key, SERVE_TITLES[key], "no PostgreSQL"))
            continue
        results.append(_serve_on_postgres(key, server, load, workdir, serve_workers, note))
    return results


def _serve_on_postgres(
    key: str, server: str, load: Any, workdir: Path, workers: int | None, note: str
) -> ReceiverResult:
    import psycopg

    pg_dir = workdir / f"postgres-{key}"
    pg_dir.mkdir()
    try:
        with databases.fresh_postgres(server) as url, databases.PostgresProbe(url) as probe:
            receiver = serve_receiver(
                key, SERVE_TITLES[key], url, pg_dir, workers=workers, probe=probe
            )
            return run_receiver(receiver, load, CONCURRENCIES, log_dir=workdir, note=note)
    except psycopg.Error as exc:
        print(f"\n({key}) skipped: PostgreSQL not usable ({type(exc).__name__}: {exc})")
        return ReceiverResult(key, SERVE_TITLES[key], str(exc))


def signature_section() -> dict[str, Any]:
    print("\n=== Signature verification and Link parsing (snekomatic.gh.sansio)")
    checks = micro.signature_checks()
    print(
        f"    {checks['body_bytes'] // 1024} KB body: {checks['one_secret_per_s']:,.0f} verifications/s"
        f" with 1 secret, {checks['three_secrets_per_s']:,.0f}/s with 3 (match last)"
        f"   [{checks['how']}]"
    )
    link = micro.link_header()
    if link["available"]:
        print(
            f"    Link header of {link['header_bytes'] / 1024:.0f} KB ({link['links']} links): "
            f"parsed in {link['best_ms']:.2f} ms"
        )
    else:
        print("    Link header parsing: skipped (sansio.parse_link_header not present yet)")
    return {"signatures": checks, "link_header": link}


def _measure_overhead(measure: Any, base_url: str, n: int) -> dict[str, Any]:
    import trio

    try:
        result: dict[str, Any] = trio.run(measure, base_url, n)
    except Exception as exc:  # the helper is someone else's code: report, do not abort the run
        print(f"    failed: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}
    for name, value in result.items():
        shown = f"{value:,.4g}" if isinstance(value, float) else value
        print(f"    {name}: {shown}")
    return result


def client_overhead_section(n: int, workdir: Path) -> dict[str, Any]:
    print(f"\n=== Client overhead over raw httpx ({n} requests each)")
    if importlib.util.find_spec("bench.client_overhead") is None:
        print("    skipped: bench/client_overhead.py is not written yet")
        return {"skipped": "bench/client_overhead.py missing"}
    measure = importlib.import_module("bench.client_overhead").measure_client_overhead
    try:
        fake = python_receiver("fake-github", "the fake GitHub", "fake-github")
        with processes.running(
            "fake-github", fake.argv, port=fake.port, log_dir=workdir, env=fake.env, cwd=REPO
        ) as server:
            print(f"    against the fake GitHub at {server.base_url}")
            return {"server": "fake-github", **_measure_overhead(measure, server.base_url, n)}
    except processes.NotReady as exc:
        print(f"    fake GitHub not available ({exc}); using the bare Hypercorn 202 server")
    trivial = python_receiver("hypercorn-202", "bare Hypercorn", "hypercorn")
    with processes.running(
        "hypercorn-202", trivial.argv, port=trivial.port, log_dir=workdir, env=trivial.env, cwd=REPO
    ) as server:
        return {"server": "hypercorn-202", **_measure_overhead(measure, server.base_url, n)}


def _result_json(result: ReceiverResult) -> dict[str, Any]:
    return {
        "key": result.key,
        "title": result.title,
        "skipped": result.skipped,
        "runs": [{**dataclasses.asdict(run), "per_second": run.per_second} for run in result.runs],
        "rows": [{**dataclasses.asdict(row), "missing": row.missing} for row in result.rows],
        "drains": [dataclasses.asdict(drain) for drain in result.drains],
        "memory": result.memory,
        "note": result.note,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per load run (5)")
    parser.add_argument("--quick", action="store_true", help="2 s per load run")
    parser.add_argument("--output", type=Path, default=Path("bench-results/latest.json"))
    parser.add_argument(
        "--python-loadgen", action="store_true", help="use the Python load generator, not wrk"
    )
    parser.add_argument(
        "--only",
        default=",".join(RECEIVER_KEYS),
        help=f"comma-separated receivers to run, of {','.join(RECEIVER_KEYS)} (all); when some are"
        " left out, the sansio and client-overhead sections are skipped too",
    )
    parser.add_argument(
        "--scaleout-deliveries",
        type=int,
        default=0,
        help="deliveries the scale-out section drains (20,000; 1,000 with --quick)",
    )
    args = parser.parse_args(argv)
    only = frozenset(key.strip() for key in args.only.split(",") if key.strip())
    if not only <= set(RECEIVER_KEYS):
        parser.error(f"--only: unknown receivers {sorted(only - set(RECEIVER_KEYS))}")
    duration = 2.0 if args.quick else args.duration
    started = time.monotonic()

    wrk, wrk_note = (
        (None, "--python-loadgen given") if args.python_loadgen else loadgen.ensure_wrk()
    )
    facts = machine_facts(wrk)
    print("=== snekomatic bench")
    for name, value in facts.items():
        print(f"    {name}: {value}")
    print(f"    load generator: {wrk_note}; {duration:g} s per run, concurrency {CONCURRENCIES}")
    if wrk is None:
        print(
            "    !!! wrk unavailable: using the Python load generator, whose ceiling is far lower"
        )

    body = (REPO / PAYLOAD).read_bytes()
    with tempfile.TemporaryDirectory(prefix="snekomatic-bench-") as tmp:
        workdir = Path(tmp)
        body_file = workdir / "body.json"
        body_file.write_bytes(body)
        payload = loadgen.Payload(body_file, signature_for(body, WEBHOOK_SECRET.encode()))
        print(f"    payload: {PAYLOAD.name}, {len(body):,} bytes, signed; delivery id varies")
        if wrk is not None:
            load = partial(_wrk_load, wrk, payload, duration)
        else:
            load = partial(_python_load, payload, duration)
        results = run_receivers(load, workdir, only)
        report.summary_table(results, CONCURRENCIES)
        ratios = report.ratios(results, CONCURRENCIES)
        to_peer = report.peer_ratios(results, CONCURRENCIES)
        scaleout: dict[str, Any] = {"skipped": "--only"}
        if "c" in only:
            scaleout = scaleout_section(
                deliveries=args.scaleout_deliveries or (1_000 if args.quick else 20_000),
                wrk=wrk,
                payload=payload,
                secret=WEBHOOK_SECRET,
                private_key=private_key_pem(),
                workdir=workdir,
                load=load,
                deadline_s=60.0 if args.quick else 180.0,
            )
        sansio_numbers: dict[str, Any] = {"skipped": "--only"}
        overhead: dict[str, Any] = {"skipped": "--only"}
        latency: dict[str, Any] = {"skipped": "--only"}
        if only == set(RECEIVER_KEYS):
            sansio_numbers = signature_section()
            overhead = client_overhead_section(300 if args.quick else 1000, workdir)
            latency = invite_latency_section(10 if args.quick else 100)
        # after every section, so that the issue 10 latency figures can be judged too
        targets = report.targets(results, latency)

    elapsed = time.monotonic() - started
    facts["load_average_at_end"] = os.getloadavg()
    print(f"\n=== done in {elapsed:.0f} s; load average now {facts['load_average_at_end']}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "facts": facts,
        "duration_per_run_s": duration,
        "concurrencies": list(CONCURRENCIES),
        "receivers": [_result_json(result) for result in results],
        "ratios_to_a": ratios,
        "ratios_to_faster_peer": to_peer,
        "targets": targets,
        "scaleout": scaleout,
        "sansio": sansio_numbers,
        "client_overhead": overhead,
        "invite_latency": latency,
        "elapsed_s": elapsed,
    }
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"    JSON written to {args.output}")
    return 0


def _wrk_load(
    wrk: str,
    payload: loadgen.Payload,
    duration: float,
    base_url: str,
    concurrency: int,
    path: str = loadgen.WEBHOOK_PATH,
) -> loadgen.LoadResult:
    return loadgen.run_wrk(
        wrk, base_url, payload, concurrency=concurrency, duration=duration, path=path
    )


def _python_load(
    payload: loadgen.Payload,
    duration: float,
    base_url: str,
    concurrency: int,
    path: str = loadgen.WEBHOOK_PATH,
) -> loadgen.LoadResult:
    return loadgen.run_python(
        base_url, payload, concurrency=concurrency, duration=duration, path=path
    )


if __name__ == "__main__":
    sys.exit(main())
