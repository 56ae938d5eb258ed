"""Invite latency: from a merged-PR webhook leaving GitHub to the invitation call reaching GitHub.

GitHub is the fake (``snekomatic.gh.testing``), served on loopback in this process. For each event a new
contributor: the fake merges their pull request and sends ``pull_request.closed``; the latency is the
time the fake received ``POST /orgs/{org}/invitations`` minus the time it logged the delivery, both on the
fake's clock. Events go one after another (the next once the previous invitation has arrived), so the
figures are per-event latency, not queueing.

What is left out, on purpose: events rotate over ``ORGS`` installations, each warmed up by one event
that is not counted (it mints the installation's token: the app's client spaces token mints 1 s apart,
like any POST, so a run of first events from new installations would measure that gap), and an event
is sent only once its installation may write again (GitHub's 1 s between writes, which the previous
event's welcome comment used), so the pacer adds nothing either.

Two ways of running the same handlers on the same events, in one run:

- ``snekomatic serve`` as a process (SQLite; PostgreSQL too when ``TEST_DATABASE_URL`` is set): signature
  check, group-commit ingest into the store, a worker's claim, dispatch. It runs with its default
  in-process workers, as deployed. Each event may keep a worker about a second after its invitation
  (the welcome comment waits the 1 s GitHub asks between writes), so an event is sent only once fewer
  than that many events are still waiting for their welcome comment: a worker is free for it, and the
  figure is the pipeline's latency, not a queue's (a merged PR by a newcomer is rare in production).
- the bare library: ``GitHubApp`` + ``register_features`` + a ``Store`` (SQLite) in this process, each
  delivery signed, parsed and dispatched at once (no web server, no inbox); the comment finishes in the
  background as it does in ``serve``.

``python -m bench.invite_latency [n]`` runs it alone.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio

from bench import databases, processes
from bench.suite import serve_env, snekomatic_serve_argv
from snekomatic.features import FeatureOptions, register_features
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.testing import (
    FakeDelivery,
    FakeGitHub,
    FakeOrg,
    FakeRepo,
    FakeUser,
    build_webhook_request,
    generate_private_key,
    serve_fake_github,
)
from snekomatic.logs import configure_logging
from snekomatic.store import Store, create_store_engine, upgrade

APP_ID = 4242
ORGS = 20  # installations the events rotate over; each one's first event is a warm-up
WRITE_GAP = 1.05  # GitHub's 1 s between writes per installation, and a margin
EVENT_DEADLINE = 30.0  # seconds for one invitation to arrive before the run is abandoned
POLL = (
    0.002  # how often this process looks for the invitation (the time itself comes from the fake)
)

Dispatch = Callable[[FakeDelivery], Awaitable[None]]
COMMENTS = "/repos/*/widget/issues/*/comments"


def default_workers() -> int:
    """How many in-process workers ``serve`` runs when SNEKOMATIC_WORKERS is unset."""
    from snekomatic.runtime import Settings

    return int(Settings.model_fields["workers"].default)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100)
    return ordered[int(rank) - 1]


def summary(latencies: list[float]) -> dict[str, Any]:
    ms = [value * 1000 for value in latencies]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 2),
        "p99_ms": round(percentile(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
    }


@dataclass
class _Org:
    org: FakeOrg
    repo: FakeRepo
    maintainer: FakeUser
    events: int = 0

    @property
    def login(self) -> str:
        return self.org.account.login


def _add_org(fake: FakeGitHub, i: int) -> _Org:
    org = fake.add_org(f"latency-org-{i}")
    maintainer = fake.add_user(f"latency-maintainer-{i}")
    fake.add_member(org, maintainer)
    repo = fake.add_repo(org, "widget")
    fake.install(org)
    return _Org(org, repo, maintainer)


async def _write_slot_free(fake: FakeGitHub, org: _Org) -> None:
    """Wait until the bot may write to ``org``'s installation at once: its previous welcome comment
    has arrived and GitHub's 1 s gap since it has passed (so the pacer adds nothing to the next event)."""
    if org.events == 0:
        return
    comments = f"/repos/{org.login}/widget/issues/*/comments"
    while len(posted := fake.requests_to("POST", comments)) < org.events:  # noqa: ASYNC110
        await trio.sleep(POLL)  # the fake only records requests: there is no event to wait on
    await trio.sleep(max(0.0, posted[-1].time + WRITE_GAP - fake.now()))


async def _worker_free(fake: FakeGitHub, sent: int, workers: int | None) -> None:
    """Wait until fewer than ``workers`` of the ``sent`` events still wait for their welcome comment."""
    if workers is None:
        return
    while sent - len(fake.requests_to("POST", COMMENTS)) >= workers:  # noqa: ASYNC110
        await trio.sleep(POLL)  # the fake only records requests: there is no event to wait on


async def _send_events(
    fake: FakeGitHub, n: int, dispatch: Dispatch | None, workers: int | None = None
) -> list[float]:
    """Warm up ``ORGS`` organizations with one event each, then send ``n`` first merged PRs by new
    contributors round-robin over them, one at a time; the ``n`` latencies.

    ``dispatch`` None: the fake sends each webhook to its ``webhook_url`` (``serve``); otherwise the
    fake only logs it and ``dispatch`` is started on it (in the background, like a worker).
    ``workers``: the receiver's worker count (None: no limit), see ``_worker_free``.
    """
    orgs = [_add_org(fake, i) for i in range(ORGS)]
    latencies: list[float] = []
    async with trio.open_nursery() as nursery:
        for i in range(ORGS + n):
            org = orgs[i % ORGS]
            author = fake.add_user(f"latency-author-{i}")
            invitations = f"/orgs/{org.login}/invitations"
            with trio.fail_after(EVENT_DEADLINE):
                await _write_slot_free(fake, org)
                await _worker_free(fake, i, workers)
                pr = fake.open_pull_request(org.repo, author=author)
                delivery = await fake.merge_pull_request(pr, merged_by=org.maintainer)
                assert delivery is not None
                if dispatch is not None:
                    nursery.start_soon(dispatch, delivery)
                elif not 200 <= delivery.status_code < 300:
                    raise RuntimeError(f"serve refused the webhook: {delivery.status}")
                while len(arrived := fake.requests_to("POST", invitations)) <= org.events:  # noqa: ASYNC110
                    await trio.sleep(POLL)  # polled; the latency itself is the fake's timestamp
            org.events += 1
            if i >= ORGS:  # the first event of each organization also mints its token: warm-up
                latencies.append(arrived[-1].time - delivery.delivered_at)
    return latencies


async def _measure_serve(
    fake: FakeGitHub, fake_url: str, database_url: str, workdir: Path, n: int
) -> list[float]:
    env = serve_env(
        secret=fake.webhook_secret,
        private_key=generate_private_key(),
        database_url=database_url,
        dead_api_url=fake_url,
    )
    env.update(GITHUB_APP_ID=str(APP_ID), LOG_LEVEL="warning")
    for name in ("SNEKOMATIC_WORKERS", "WORKERS"):  # the default workers, as deployed
        env.pop(name, None)
    port = processes.free_port()
    with contextlib.ExitStack() as stack:
        server = await trio.to_thread.run_sync(
            stack.enter_context,
            processes.running(
                "serve-invite-latency",
                snekomatic_serve_argv(port),
                port=port,
                log_dir=workdir,
                env=env,
                healthz="/healthz",
                cwd=workdir,
            ),
        )
        fake.webhook_url = f"{server.base_url}/webhook/github"
        try:
            return await _send_events(fake, n, None, default_workers())
        finally:
            fake.webhook_url = None
            await trio.to_thread.run_sync(stack.close)
    raise AssertionError("unreachable")  # pragma: no cover - the ExitStack does not swallow


async def _measure_library(fake: FakeGitHub, fake_url: str, workdir: Path, n: int) -> list[float]:
    engine = create_store_engine(databases.sqlite_url(workdir))
    upgrade(engine)
    store = Store(engine)
    try:
        async with GitHubApp(
            app_id=APP_ID,
            private_key=generate_private_key(),
            webhook_secret=fake.webhook_secret,
            user_agent="snekomatic-bench",
            base_url=fake_url,
        ) as app:
            # SQLite: the database's clock is this machine's.
            register_features(app, store, options=FeatureOptions(), clock=store.database_now)

            async def dispatch(delivery: FakeDelivery) -> None:
                headers, body = build_webhook_request(
                    delivery.event,
                    delivery.payload,
                    secret=fake.webhook_secret,
                    delivery_id=delivery.guid,
                )
                await app.dispatch(app.parse_webhook(headers, body))

            return await _send_events(fake, n, dispatch)
    finally:
        engine.dispose()


async def _with_fake(
    measure: Callable[[FakeGitHub, str], Awaitable[list[float]]],
) -> list[float]:
    """Run ``measure`` against a fresh fake GitHub served on loopback.

    The fake sends webhooks with one long-lived client, a new connection for each (as GitHub does):
    without it every delivery would first build an HTTP client, whose TLS context alone takes about
    17 ms here, and the figure would be mostly the sender's.
    """
    sender = httpx.AsyncClient(
        trust_env=False, timeout=10.0, limits=httpx.Limits(max_keepalive_connections=0)
    )
    fake = FakeGitHub(app_id=APP_ID, private_key=generate_private_key(), webhook_http=sender)
    async with sender, trio.open_nursery() as nursery:
        url = await nursery.start(serve_fake_github, fake)
        try:
            return await measure(fake, url)
        finally:
            nursery.cancel_scope.cancel()
    raise AssertionError("unreachable")  # pragma: no cover


async def measure_invite_latency(n: int = 200) -> dict[str, Any]:
    """Latency from a merged-PR webhook's send to the invitation call's arrival, p50 and p99 over ``n``
    events, for ``serve`` on SQLite (and PostgreSQL when ``TEST_DATABASE_URL`` is set) and for the bare
    library dispatch; prints them and their ratios, and returns them (milliseconds)."""
    configure_logging("warning")  # the bot logs a line per step; the report shows only figures
    result: dict[str, Any] = {"n": n, "installations": ORGS, "serve_workers": default_workers()}
    with tempfile.TemporaryDirectory(prefix="snekomatic-invite-latency-") as tmp:
        root = Path(tmp)
        for name in ("library", "serve_sqlite", "serve_postgresql"):
            (root / name).mkdir()
        library = await _with_fake(
            lambda fake, url: _measure_library(fake, url, root / "library", n)
        )
        result["library"] = summary(library)
        _print("bare library dispatch (SQLite store)", result["library"])
        sqlite = databases.sqlite_url(root / "serve_sqlite")
        serve = await _with_fake(
            lambda fake, url: _measure_serve(fake, url, sqlite, root / "serve_sqlite", n)
        )
        result["serve_sqlite"] = summary(serve)
        _print("snekomatic serve on SQLite", result["serve_sqlite"], result["library"])
        server = os.environ.get("TEST_DATABASE_URL")
        if not server:
            print("    snekomatic serve on PostgreSQL: skipped (TEST_DATABASE_URL is not set)")
            result["serve_postgresql"] = {"skipped": "TEST_DATABASE_URL is not set"}
        else:
            with databases.fresh_postgres(server) as url:
                serve = await _with_fake(
                    lambda fake, fake_url: _measure_serve(
                        fake, fake_url, url, root / "serve_postgresql", n
                    )
                )
            result["serve_postgresql"] = summary(serve)
            _print("snekomatic serve on PostgreSQL", result["serve_postgresql"], result["library"])
    for key in ("serve_sqlite", "serve_postgresql"):
        if "p50_ms" in result[key]:
            result[f"ratio_{key}_to_library"] = {
                "p50": round(result[key]["p50_ms"] / result["library"]["p50_ms"], 2),
                "p99": round(result[key]["p99_ms"] / result["library"]["p99_ms"], 2),
            }
    return result


def _print(title: str, figures: dict[str, Any], library: dict[str, Any] | None = None) -> None:
    line = (
        f"    {title}: p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms"
        f" (mean {figures['mean_ms']:.1f}, max {figures['max_ms']:.1f}; n={figures['n']})"
    )
    if library is not None:
        line += (
            f"  = {figures['p50_ms'] / library['p50_ms']:.1f}x / "
            f"{figures['p99_ms'] / library['p99_ms']:.1f}x the library"
        )
    print(line)


def invite_latency_section(n: int = 200) -> dict[str, Any]:
    """The bench report's section: a heading, the figures, and the JSON-ready result (or the error)."""
    print(f"\n=== Invite latency: merged-PR webhook sent -> invitation call received ({n} events)")
    print(
        f"    serve runs its default {default_workers()} workers; each event is sent when one is free"
    )
    print(
        f"    (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; figures are noisy under load)"
    )
    try:
        return trio.run(partial(measure_invite_latency, n))
    except Exception as exc:  # a bench section reports its failure; the rest of the run goes on
        print(f"    failed: {type(exc).__name__}: {exc}")
        return {"error": f"{type(exc).__name__}: {exc}"}


if __name__ == "__main__":
    invite_latency_section(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
