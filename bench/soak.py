"""``make soak``: the bot under steady load while its world keeps failing; nothing may be lost or done twice.

One run (``python -m bench.soak [--deliveries N] [--rate R]``, about 5 minutes with the defaults):

- a private PostgreSQL cluster with fsync on (``tools/with_postgres.py``'s ``throwaway_cluster``, which
  can restart it), a fresh database, migrated once;
- the fake GitHub (:class:`snekomatic.gh.testing.FakeGitHub`) served from a thread of this process,
  answering 5 % of all API calls with a 5xx and 1 % with a secondary rate limit (``retry-after: 2``),
  both drawn from seeded generators (``inject_random_faults``);
- two ``snekomatic serve`` (2 in-process workers each) and two ``snekomatic worker`` (4 each) on that
  database, their logs in a directory printed at the end and kept;
- N signed deliveries (default 10,000) sent at a steady R per second (default 50), round-robin to the
  two serves (:mod:`bench.soak_plan`: merged PRs by newcomers, some five at once by one newcomer,
  merges by members, ``/ping`` comments, opened PRs and issues, ordinary comments, hook pings, real
  payload examples, 5 % duplicates sent at once and 5 % redeliveries 15-45 s later). An answer other
  than 2xx or 4xx (a 503, a refused connection) is sent again 2 s later, as an app owner redelivering
  would, for up to 2 minutes;
- meanwhile: a worker SIGKILLed every 30 s and restarted at once (the two in turn), PostgreSQL
  restarted once (at 45 % of the sending), one serve taken out of rotation, scraped, stopped with
  SIGTERM and restarted (at 65 %);
- then it waits for the queue to drain, scrapes ``GET /metrics`` of both serves, stops everything with
  SIGTERM and checks.

Checks (any failure: exit status 1): every delivery answered 2xx at least once; every id answered 2xx
stored exactly once and done (lost = answered 2xx but not stored or not done); no dead letters; no
4xx; invitations and welcome comments exactly the expected ones, once each; one "pong!" and one heart
per ``/ping`` comment; the serves' counters (summed over their lives, each scraped just before it was
stopped) equal the database (accepted = rows, accepted + duplicates = 2xx answers) and the backlog
gauge is 0; the slowest webhook answer under 10 s; every SIGTERM exits 0.

Polling (the database, /healthz) is fine here: this is a benchmark, and the bot is other processes.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import trio
from prometheus_client.parser import text_string_to_metric_families
from tools.with_postgres import HOW_TO_GET_ONE, Cluster, find_pg_bin, throwaway_cluster

from bench import databases
from bench.processes import NotReady, Server, free_port, wait_ready
from bench.soak_plan import Plan, Send, build_world
from snekomatic.gh.sansio import signature_for
from snekomatic.gh.testing import FakeGitHub, fake_github_thread, generate_private_key

APP_ID = 777
SECRET = "soak-webhook-secret"
USER_AGENT = "snekomatic-soak/1.0 (loopback)"
SERVE_WORKERS = 2
WORKER_TASKS = 4
WORKER_KILL_EVERY = 30.0
# At each kill, wait this long for the worker to hold a pull_request or issue_comment delivery (one that
# calls GitHub), so that the kill interrupts work in progress rather than an idle process.
KILL_AIM_SECONDS = 8.0
PG_RESTART_AT = 0.45
SERVE_RESTART_AT = 0.65
RESEND_AFTER = 2.0
RESEND_FOR = 120.0
ANSWER_LIMIT = 10.0
DRAIN_DEADLINE = 600.0
STOP_DEADLINE = 30.0
SERVER_ERROR_RATE = 0.05
SECONDARY_LIMIT_RATE = 0.01
SECONDARY_RETRY_AFTER = 2.0


# -- the bot's processes --------------------------------------------------------------------------


@dataclass
class Life:
    """One incarnation of a process: its pid, log, peak resident memory and how it ended."""

    role: str
    number: int
    process: subprocess.Popen[bytes]
    log_path: Path
    peak_kib: int = 0
    ended: str = "running"
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float] | None = None

    @property
    def name(self) -> str:
        return f"{self.role}#{self.number}"

    def note_memory(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kib = max(self.peak_kib, int(line.split()[1]))


@dataclass
class Role:
    """``serve-a``, ``worker-1``...: started again after each kill or stop, with the same port."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_dir: Path
    port: int | None = None
    lives: list[Life] = field(default_factory=list)

    @property
    def current(self) -> Life:
        return self.lives[-1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Life:
        number = len(self.lives) + 1
        log_path = self.log_dir / f"{self.name}.{number}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.log_dir,
                start_new_session=True,
            )
        life = Life(self.name, number, process, log_path)
        self.lives.append(life)
        if self.port is not None:
            wait_ready(
                Server(self.name, self.port, process, log_path), deadline=30, healthz="/healthz"
            )
        else:
            time.sleep(0.5)
            if process.poll() is not None:
                raise NotReady(f"{self.name} exited with {process.returncode}")
        return life

    def kill(self) -> None:
        life = self.current
        life.note_memory()
        life.process.kill()
        life.process.wait()
        life.ended = "SIGKILL"

    def terminate(self) -> int | None:
        life = self.current
        life.note_memory()
        if life.process.poll() is None:
            life.process.send_signal(signal.SIGTERM)
        try:
            code: int | None = life.process.wait(timeout=STOP_DEADLINE)
        except subprocess.TimeoutExpired:
            life.process.kill()
            life.process.wait()
            code = None
        life.ended = f"SIGTERM, exit {code}" if code is not None else "SIGTERM, hung: killed"
        return code


def bot_env(fake: FakeGitHub, private_key: str, *, api_url: str, database: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GITHUB_", "SNEKOMATIC_", "SENTRY_", "DATABASE_URL", "LOG_"))
    }
    env.update(
        GITHUB_APP_ID=str(fake.app_id),
        GITHUB_PRIVATE_KEY=private_key,
        GITHUB_WEBHOOK_SECRET=SECRET,
        GITHUB_API_URL=api_url,
        GITHUB_USER_AGENT=USER_AGENT,
        DATABASE_URL=database,
        LOG_LEVEL="info",
    )
    return env


def scrape(role: Role) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """``GET /metrics`` of a serve: every sample, by name and labels."""
    text = httpx.get(f"{role.base_url}/metrics", timeout=10).text
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


# -- sending ------------------------------------------------------------------------------------


@dataclass
class Attempt:
    guid: str
    send_kind: str
    serve: str
    status: int  # 0: no answer (refused connection, timeout)
    seconds: float
    at: float


@dataclass
class Slot:
    role: Role
    up: bool = True
    in_flight: int = 0


@dataclass
class Load:
    slots: list[Slot]
    attempts: list[Attempt] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    never_accepted: list[str] = field(default_factory=list)
    refused_4xx: list[Attempt] = field(default_factory=list)
    turn: int = 0

    def pick(self) -> Slot:
        for _ in range(len(self.slots)):
            slot = self.slots[self.turn % len(self.slots)]
            self.turn += 1
            if slot.up:
                return slot
        return self.slots[0] if self.slots[0].up else self.slots[1]


def headers_for(event: str, guid: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/soak",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(APP_ID),
        "X-Hub-Signature-256": signature_for(body, SECRET.encode()),
    }


async def deliver(http: httpx.AsyncClient, load: Load, send: Send, t0: float) -> None:
    """Send once; resend an answer that is neither 2xx nor 4xx every 2 s for up to 2 minutes."""
    d = send.delivery
    headers = headers_for(d.event, d.guid, d.body)
    give_up = trio.current_time() + RESEND_FOR
    while True:
        slot = load.pick()
        slot.in_flight += 1
        started = trio.current_time()
        try:
            response = await http.post(
                f"{slot.role.base_url}/webhook/github", content=d.body, headers=headers
            )
            status = response.status_code
        except httpx.TransportError:
            status = 0
        finally:
            slot.in_flight -= 1
        attempt = Attempt(
            d.guid, send.kind, slot.role.name, status, trio.current_time() - started, started - t0
        )
        load.attempts.append(attempt)
        if 200 <= status < 300:
            load.accepted.add(d.guid)
            return
        if 400 <= status < 500:
            load.refused_4xx.append(attempt)
            return
        if trio.current_time() > give_up:
            load.never_accepted.append(d.guid)
            return
        await trio.sleep(RESEND_AFTER)


# -- the run ------------------------------------------------------------------------------------


@dataclass
class Events:
    lines: list[str] = field(default_factory=list)
    t0: float = 0.0
    failures: list[str] = field(default_factory=list)
    worker_kills: int = 0
    interrupted: list[str] = field(default_factory=list)  # delivery ids held by a killed worker
    postgres_restarts: int = 0
    serve_restarts: int = 0

    def note(self, text: str) -> None:
        line = f"[{trio.current_time() - self.t0:7.1f}s] {text}"
        self.lines.append(line)
        print(line, flush=True)


def backlog(database: str) -> tuple[int, int]:
    """(deliveries not yet settled, all rows), or (-1, -1) while the database does not answer."""
    try:
        with psycopg.connect(database, connect_timeout=3) as db:
            row = db.execute(
                "SELECT count(*) FILTER (WHERE status IN ('pending', 'leased')), count(*)"
                " FROM deliveries"
            ).fetchone()
    except psycopg.Error:
        return -1, -1
    assert row is not None
    return int(row[0]), int(row[1])


def wait_for_lease(database: str, pid: int, seconds: float) -> list[str]:
    """The deliveries of GitHub-calling events leased by process ``pid``, once there are any (polled
    every 10 ms); [] after ``seconds`` or while the database does not answer."""
    give_up = time.monotonic() + seconds
    try:
        with psycopg.connect(database, connect_timeout=3, autocommit=True) as db:
            while time.monotonic() < give_up:
                held = [
                    str(guid)
                    for (guid,) in db.execute(
                        "SELECT delivery_id FROM deliveries WHERE status = 'leased'"
                        " AND event IN ('pull_request', 'issue_comment') AND lease_owner LIKE %s",
                        (f"%:{pid}:%",),
                    )
                ]
                if held:
                    return held
                time.sleep(0.01)
    except psycopg.Error:
        pass
    return []


async def run_load(
    plan: Plan,
    serves: list[Role],
    workers: list[Role],
    cluster: Cluster,
    database: str,
    events: Events,
    duration: float,
) -> tuple[Load, float, float]:
    """Send the plan while the faults happen; wait for the drain. (load, send end, drain seconds)."""
    load = Load([Slot(role) for role in serves])
    every_life = lambda: [r.current for r in (*serves, *workers)]  # noqa: E731

    async def memory() -> None:
        while True:
            for life in every_life():
                life.note_memory()
            await trio.sleep(1)

    async def kill_workers() -> None:
        n = 0
        while True:
            await trio.sleep(WORKER_KILL_EVERY)
            role = workers[n % len(workers)]
            n += 1
            pid = role.current.process.pid
            held = await trio.to_thread.run_sync(wait_for_lease, database, pid, KILL_AIM_SECONDS)
            await trio.to_thread.run_sync(role.kill)
            events.worker_kills += 1
            events.interrupted += held
            events.note(
                f"SIGKILL {role.current.name} (pid {pid}), holding {', '.join(held) or 'nothing'}"
            )
            life = await trio.to_thread.run_sync(role.start)
            events.note(f"started {life.name} (pid {life.process.pid})")

    async def restart_postgres() -> None:
        await trio.sleep(duration * PG_RESTART_AT)
        events.note("PostgreSQL: pg_ctl restart -m fast")
        started = trio.current_time()
        try:
            await trio.to_thread.run_sync(cluster.restart)
        except SystemExit:
            events.failures.append("PostgreSQL did not restart (see its server.log)")
            events.note("PostgreSQL restart FAILED")
            return
        events.postgres_restarts += 1
        events.note(f"PostgreSQL back after {trio.current_time() - started:.1f}s")

    async def restart_serve() -> None:
        await trio.sleep(duration * SERVE_RESTART_AT)
        slot = load.slots[-1]
        slot.up = False
        while slot.in_flight:  # noqa: ASYNC110 - our own counter, polled briefly
            await trio.sleep(0.05)
        life = slot.role.current
        life.metrics = await trio.to_thread.run_sync(scrape, slot.role)
        events.note(f"{life.name} out of rotation, scraped; SIGTERM")
        code = await trio.to_thread.run_sync(slot.role.terminate)
        events.serve_restarts += 1
        events.note(f"{life.name}: {life.ended}")
        if code != 0:
            events.failures.append(f"{life.name} exited with {code} after SIGTERM")
        new = await trio.to_thread.run_sync(slot.role.start)
        slot.up = True
        events.note(f"started {new.name} (pid {new.process.pid}), back in rotation")

    limits = httpx.Limits(max_connections=400, max_keepalive_connections=100)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        async with trio.open_nursery() as chaos:
            chaos.start_soon(memory)
            chaos.start_soon(kill_workers)
            chaos.start_soon(restart_postgres)
            chaos.start_soon(restart_serve)
            async with trio.open_nursery() as senders:
                for send in plan.sends:
                    await trio.sleep_until(events.t0 + send.at)
                    senders.start_soon(deliver, http, load, send, events.t0)
            sent_at = trio.current_time()
            events.note(
                f"all {len(plan.sends)} sends answered ({len(load.attempts)} attempts);"
                " waiting for the queue to drain"
            )
            with trio.move_on_after(DRAIN_DEADLINE) as waiting:
                while True:
                    pending, _ = await trio.to_thread.run_sync(backlog, database)
                    if pending == 0:
                        break
                    await trio.sleep(0.25)
            drained = trio.current_time() - sent_at
            if waiting.cancelled_caught:
                events.failures.append(f"the queue did not drain within {DRAIN_DEADLINE:.0f}s")
            events.note(f"queue drained {drained:.1f}s after the last answer")
            chaos.cancel_scope.cancel()
    return load, sent_at, drained


# -- the checks ---------------------------------------------------------------------------------


@dataclass
class FakeState:
    invitees: dict[str, list[str]]
    welcome_comments: dict[str, int]  # newcomer login -> bot comments welcoming them
    member_pr_bot_comments: int
    pongs: dict[int, int]  # ping comment id -> bot comments answering it
    hearts: dict[int, int]
    calls_by_status: Counter[int]
    server_errors_injected: int
    secondary_limits_injected: int


def read_fake(fake: FakeGitHub, plan: Plan) -> FakeState:
    """Run on the fake's thread."""
    invitees = {
        org.login: [i.invitee.login for i in fake.invitations_for(org)] for org in plan.orgs
    }
    welcome: dict[str, int] = {}
    for login, prs in plan.newcomer_prs.items():
        user = fake.users[login.lower()]
        welcome[login] = sum(
            1
            for pr in prs
            for c in fake.comments_on(pr.repo, pr.number)
            if c.author.type == "Bot" and f":{user.id} -->" in c.body
        )
    member_comments = sum(
        1
        for pr in plan.member_prs
        for c in fake.comments_on(pr.repo, pr.number)
        if c.author.type == "Bot"
    )
    pongs: dict[int, int] = {}
    hearts: dict[int, int] = {}
    for ping in plan.ping_comments:
        thread = fake.comments_on(ping.repo, ping.issue_number)
        pongs[ping.id] = sum(
            1 for c in thread if c.author.type == "Bot" and f"ping:comment:{ping.id} -->" in c.body
        )
        hearts[ping.id] = sum(1 for user, content in ping.reactions if content == "heart")
    faults = {f.kind: f.taken for f in fake.random_faults}
    return FakeState(
        invitees,
        welcome,
        member_comments,
        pongs,
        hearts,
        Counter(r.status or 0 for r in fake.requests),
        faults.get("server_error", 0),
        faults.get("secondary_rate_limit", 0),
    )


def read_database(database: str) -> tuple[dict[str, list[tuple[str, int, str | None]]], int]:
    """delivery id -> its rows (status, attempts, last_error); and the invitations rows."""
    rows: dict[str, list[tuple[str, int, str | None]]] = defaultdict(list)
    with psycopg.connect(database, connect_timeout=5) as db:
        for guid, status, attempts, error in db.execute(
            "SELECT delivery_id, status, attempts, last_error FROM deliveries"
        ):
            rows[guid].append((status, attempts, error))
        row = db.execute("SELECT count(*) FROM invitations").fetchone()
    return rows, int(row[0]) if row else 0


def metric_sum(lives: list[Life], name: str, **labels: str) -> float:
    total = 0.0
    for life in lives:
        for (sample, sample_labels), value in (life.metrics or {}).items():
            if sample == name and all((k, v) in sample_labels for k, v in labels.items()):
                total += value
    return total


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(
    plan: Plan,
    load: Load,
    state: FakeState,
    rows: dict[str, list[tuple[str, int, str | None]]],
    invitation_rows: int,
    roles: list[Role],
    events: Events,
    drained: float,
    self_peak_kib: int,
) -> list[str]:
    """Print the summary table; the failed checks."""
    failures = list(events.failures)
    serve_lives = [life for role in roles if role.port is not None for life in role.lives]
    two_xx = [a for a in load.attempts if 200 <= a.status < 300]
    statuses = Counter(a.status for a in load.attempts)
    planned = {d.guid for d in plan.deliveries}
    stored_ids = set(rows)
    done = sum(1 for r in rows.values() if r[0][0] == "done")
    dead = [g for g, r in rows.items() if r[0][0] == "dead"]
    twice = [g for g, r in rows.items() if len(r) > 1]
    lost = sorted(g for g in load.accepted if g not in rows or rows[g][0][0] != "done")
    lost = [g for g in lost if g not in dead]
    strangers = stored_ids - planned
    retried = sum(1 for r in rows.values() if r[0][1] > 1)
    accepted_metric = metric_sum(serve_lives, "snekomatic_deliveries_accepted_total")
    duplicate_metric = metric_sum(serve_lives, "snekomatic_deliveries_duplicate_total")
    settled = {
        outcome: metric_sum(serve_lives, "snekomatic_deliveries_settled_total", outcome=outcome)
        for outcome in ("done", "retried", "dead", "released")
    }
    backlog_gauges = [
        (life.metrics or {}).get(("snekomatic_backlog_deliveries", ()), -1.0)
        for role in roles
        if role.port is not None
        for life in role.lives[-1:]
    ]
    gh_calls = metric_sum(serve_lives, "snekomatic_github_calls_total")
    expected_invitees = sum(len(v) for v in plan.expected_invitees.values())
    invited = sum(len(v) for v in state.invitees.values())
    invitation_dupes = sum(len(v) - len(set(v)) for v in state.invitees.values())
    wrong_invitees = sorted(
        login
        for org, logins in state.invitees.items()
        for login in set(logins) ^ plan.expected_invitees.get(org, set())
    )
    welcomes = sum(state.welcome_comments.values())
    welcome_wrong = sorted(k for k, v in state.welcome_comments.items() if v != 1)
    pong_wrong = sorted(k for k, v in state.pongs.items() if v != 1)
    heart_wrong = sorted(k for k, v in state.hearts.items() if v != 1)
    latencies = [a.seconds for a in load.attempts]
    slowest = max(latencies, default=0.0)
    sends = Counter(s.kind for s in plan.sends)

    table: list[tuple[str, str, str]] = []

    def row(what: str, value: object, verdict: str = "") -> None:
        table.append((what, str(value), verdict))

    def check(ok: bool, failure: str) -> str:
        if not ok:
            failures.append(failure)
        return "ok" if ok else "FAIL"

    row("deliveries planned (distinct ids)", len(planned))
    row(
        "sends (first / duplicate / redelivery)",
        f"{sends['first']} / {sends['duplicate']} / {sends['redelivery']}",
    )
    row("HTTP attempts (incl. resends after 503/refusals)", len(load.attempts))
    row(
        "answers by status",
        ", ".join(f"{k or 'no answer'}: {v}" for k, v in sorted(statuses.items())),
    )
    row(
        "never answered 2xx",
        len(load.never_accepted),
        check(not load.never_accepted, f"{len(load.never_accepted)} deliveries never accepted"),
    )
    row("answered 4xx", len(load.refused_4xx), check(not load.refused_4xx, "4xx answers"))
    row("accepted (distinct ids answered 2xx)", len(load.accepted))
    row(
        "stored rows / distinct ids / stored twice",
        f"{sum(len(r) for r in rows.values())} / {len(rows)} / {len(twice)}",
        check(not twice and not strangers, "a delivery stored twice or an unknown row"),
    )
    row("processed (done)", done, check(done == len(rows) - len(dead), "rows not done"))
    row("processed after more than one attempt", retried)
    row("duplicates ignored (2xx answers - stored)", len(two_xx) - len(rows))
    row("dead letters", len(dead), check(not dead, f"dead letters: {dead[:5]}"))
    row("lost (2xx but not stored or not done)", len(lost), check(not lost, f"lost: {lost[:5]}"))
    row(
        "metrics accepted_total (sum of serve lives) vs rows",
        f"{accepted_metric:.0f} vs {len(rows)}",
        check(accepted_metric == len(rows), "accepted_total != stored rows"),
    )
    row(
        "metrics accepted + duplicate vs 2xx answers",
        f"{accepted_metric + duplicate_metric:.0f} vs {len(two_xx)}",
        check(
            accepted_metric + duplicate_metric == len(two_xx),
            "accepted_total + duplicate_total != 2xx answers",
        ),
    )
    row(
        "metrics settled by serves' workers (done/retried/dead/released)",
        "/".join(f"{v:.0f}" for v in settled.values()),
        check(settled["done"] <= done and settled["dead"] == len(dead), "settled metrics vs rows"),
    )
    row(
        "metrics backlog at the end (each serve)",
        ", ".join(f"{v:.0f}" for v in backlog_gauges),
        check(all(v == 0 for v in backlog_gauges), "backlog gauge not 0 at the end"),
    )
    row("metrics github_calls_total (serves only)", f"{gh_calls:.0f}")
    row(
        "invitations vs expected (duplicates)",
        f"{invited} vs {expected_invitees} ({invitation_dupes})",
        check(
            invited == expected_invitees and not invitation_dupes and not wrong_invitees,
            f"invitations wrong: {wrong_invitees[:5]}",
        ),
    )
    row("invitations table rows", invitation_rows)
    row(
        "welcome comments vs expected (newcomers not exactly 1)",
        f"{welcomes} vs {len(state.welcome_comments)} ({len(welcome_wrong)})",
        check(not welcome_wrong, f"welcome comments wrong for {welcome_wrong[:5]}"),
    )
    row(
        "bot comments on members' merged PRs",
        state.member_pr_bot_comments,
        check(state.member_pr_bot_comments == 0, "a member was welcomed"),
    )
    row(
        "pong comments vs /ping comments (not exactly 1)",
        f"{sum(state.pongs.values())} vs {len(state.pongs)} ({len(pong_wrong)})",
        check(not pong_wrong, f"pong wrong for comments {pong_wrong[:5]}"),
    )
    row(
        "hearts vs /ping comments (not exactly 1)",
        f"{sum(state.hearts.values())} vs {len(state.hearts)} ({len(heart_wrong)})",
        check(not heart_wrong, f"hearts wrong for comments {heart_wrong[:5]}"),
    )
    row(
        "webhook answer p50 / p99 / max",
        f"{percentile(latencies, 0.5) * 1000:.1f} ms / {percentile(latencies, 0.99) * 1000:.1f} ms"
        f" / {slowest * 1000:.0f} ms",
        check(slowest < ANSWER_LIMIT, f"an answer took {slowest:.1f}s"),
    )
    row(
        "fake GitHub: calls / injected 5xx / secondary limits",
        f"{sum(state.calls_by_status.values())} / {state.server_errors_injected}"
        f" / {state.secondary_limits_injected}",
    )
    row(
        "fake GitHub: answers by status",
        ", ".join(f"{k}: {v}" for k, v in sorted(state.calls_by_status.items())),
    )
    interrupted_done = sum(
        1 for g in events.interrupted if rows.get(g, [("", 0, None)])[0][0] == "done"
    )
    row(
        "deliveries held by a worker when it was killed: done",
        f"{interrupted_done} of {len(events.interrupted)}",
        check(interrupted_done == len(events.interrupted), "an interrupted delivery not done"),
    )
    row(
        "faults: worker SIGKILLs / PostgreSQL restarts / serve SIGTERM+restarts",
        f"{events.worker_kills} / {events.postgres_restarts} / {events.serve_restarts}",
    )
    row("time until the queue drained (after the last answer)", f"{drained:.1f} s")
    for role in roles:
        for life in role.lives:
            row(f"peak memory {life.name} ({life.ended})", f"{life.peak_kib / 1024:.0f} MiB")
    row("peak memory soak (fake GitHub + sender)", f"{self_peak_kib / 1024:.0f} MiB")
    for life in (life for role in roles for life in role.lives):
        if life.ended.startswith("SIGTERM") and not life.ended.endswith("exit 0"):
            failures.append(f"{life.name}: {life.ended}")

    width = max(len(w) for w, _, _ in table)
    vwidth = max(len(v) for _, v, _ in table)
    print()
    print("=" * (width + vwidth + 10))
    for what, value, verdict in table:
        print(f"{what:<{width}}  {value:<{vwidth}}  {verdict}")
    print("=" * (width + vwidth + 10))
    return failures


def self_peak() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@contextlib.contextmanager
def private_cluster() -> Iterator[Cluster]:
    bindir = find_pg_bin()
    if bindir is None:
        sys.exit(
            f"soak: needs the PostgreSQL server binaries to restart its own cluster. {HOW_TO_GET_ONE}"
        )
    with throwaway_cluster(bindir, fsync=True) as cluster:
        yield cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--deliveries", type=int, default=10_000, help="sends in all (default 10000)"
    )
    parser.add_argument("--rate", type=float, default=50.0, help="sends per second (default 50)")
    parser.add_argument(
        "--orgs", type=int, default=20, help="organizations with the app (default 20)"
    )
    parser.add_argument("--seed", type=int, default=9, help="seed of the workload and the faults")
    args = parser.parse_args(argv)
    duration = args.deliveries / args.rate
    log_dir = Path(tempfile.mkdtemp(prefix="snekomatic-soak-"))
    print(
        f"soak: {args.deliveries} deliveries at {args.rate:g}/s (~{duration:.0f}s); logs in {log_dir}"
    )

    private_key = generate_private_key()
    fake = FakeGitHub(
        app_id=APP_ID,
        private_key=private_key,
        webhook_secret=SECRET,
        invitation_daily_limit=1_000_000,
    )
    fake.inject_random_faults(kind="server_error", rate=SERVER_ERROR_RATE, seed=args.seed)
    fake.inject_random_faults(
        kind="secondary_rate_limit",
        rate=SECONDARY_LIMIT_RATE,
        seed=args.seed + 1,
        retry_after=SECONDARY_RETRY_AFTER,
    )
    python = sys.executable
    with (
        private_cluster() as cluster,
        databases.fresh_postgres(cluster.url) as database,
        fake_github_thread(fake) as host,
    ):
        env = bot_env(fake, private_key, api_url=host.base_url, database=database)
        subprocess.run([python, "-m", "snekomatic", "migrate"], env=env, cwd=log_dir, check=True)
        serves = [
            Role(
                f"serve-{x}",
                [
                    python,
                    "-m",
                    "snekomatic",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    str(SERVE_WORKERS),
                ],
                env,
                log_dir,
                port=port,
            )
            for x, port in (("a", free_port()), ("b", free_port()))
        ]
        workers = [
            Role(
                f"worker-{n}",
                [python, "-m", "snekomatic", "worker", "--workers", str(WORKER_TASKS)],
                env,
                log_dir,
            )
            for n in (1, 2)
        ]
        roles = [*serves, *workers]
        started = time.monotonic()
        plan = host.call(
            build_world,
            fake,
            total=args.deliveries,
            rate=args.rate,
            orgs=args.orgs,
            seed=args.seed,
            webhook_url=f"{serves[0].base_url}/webhook/github",
        )
        print(
            f"soak: world built in {time.monotonic() - started:.1f}s: {len(plan.deliveries)} deliveries"
            f" ({', '.join(f'{k} {plan.count(k)}' for k in sorted({d.kind for d in plan.deliveries}))})"
        )
        try:
            for role in roles:
                role.start()
            events = Events()

            async def run() -> tuple[Load, float, float]:
                events.t0 = trio.current_time()
                return await run_load(plan, serves, workers, cluster, database, events, duration)

            load, _, drained = trio.run(run)
            for role in serves:
                role.current.metrics = scrape(role)
        finally:
            for role in roles:
                if role.lives and role.current.process.poll() is None:
                    role.terminate()
        rows, invitation_rows = read_database(database)
        state = host.call(read_fake, fake, plan)
        failures = report(
            plan, load, state, rows, invitation_rows, roles, events, drained, self_peak()
        )
    print(f"\nlogs: {log_dir}")
    if failures:
        print("SOAK FAILED:")
        for failure in failures:
            print(f"  - {failure}")
        return 1
    print("soak passed: nothing lost, nothing done twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
