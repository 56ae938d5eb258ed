"""``snekomatic replay`` and ``snekomatic status``, each run as a real process.

The commands run standalone (``python -c "...replay()"``) so these tests do not depend on their
registration in :mod:`snekomatic.cli`; the process, settings and exit codes are the real ones.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping
from functools import partial
from pathlib import Path

import pytest
import trio

from snekomatic.gh.sansio import Envelope, Event, decode_webhook
from snekomatic.gh.testing import GitHubWorld, build_webhook_request, generate_private_key
from snekomatic.runtime import create_app, serve_http
from snekomatic.store import DeliveryStatus, Invitation, NewDelivery, Store
from tests.loopback import free_port
from tests.test_cli import clean_env, run_async

SECRET = "replay-secret"
PAYLOAD = {"action": "closed", "number": 7, "installation": {"id": 3}}
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC)


def command(name: str) -> list[str]:
    """The argv that runs the click command ``name`` of snekomatic.cli as a process."""
    code = f"from snekomatic.cli import {name}; {name}(prog_name='snekomatic {name}')"
    return [sys.executable, "-c", code]


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, env=clean_env(**env), cwd=cwd, capture_output=True, text=True, timeout=120
    )


def one_line(stderr: str | bytes) -> str:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


# --- replay FILE ----------------------------------------------------------------------------------


class Receiver:
    """The bot's real web app on loopback, accepting with ``SECRET``, recording what it accepts."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.url = ""

    async def accept(self, event: Envelope, headers: Mapping[str, str], body: bytes) -> bool:
        self.events.append(decode_webhook(headers, body))  # as a worker would read it back
        return True


@pytest.fixture
async def receiver(nursery: trio.Nursery) -> AsyncIterator[Receiver]:
    receiver = Receiver()

    async def database_ok() -> bool:
        return True

    app = create_app(secrets=[SECRET.encode()], accept=receiver.accept, database_ok=database_ok)
    urls = await nursery.start(partial(serve_http, app, host="127.0.0.1", port=0))
    receiver.url = f"{urls[0]}/webhook/github"
    yield receiver
    nursery.cancel_scope.cancel()


PASTED_REQUEST_VIEW = (
    "Content-Type: application/json\nX-GitHub-Event: pull_request\n"
    "X-Hub-Signature-256: sha256=0000\n\n" + json.dumps(PAYLOAD, indent=2)
)


@pytest.mark.parametrize(
    ("text", "options"),
    [
        pytest.param(json.dumps(PAYLOAD), ["--event", "pull_request"], id="bare-payload"),
        pytest.param(PASTED_REQUEST_VIEW, [], id="pasted-request-view"),
    ],
)
async def test_replay_file_sends_a_correctly_signed_delivery(
    receiver: Receiver, tmp_path: Path, text: str, options: list[str]
) -> None:
    (tmp_path / "payload.json").write_text(text)
    args = [*command("replay"), "payload.json", *options, "--url", receiver.url]
    with trio.fail_after(60):
        result = await run_async(
            [*args, "--delivery-id", "guid-1"], tmp_path, GITHUB_WEBHOOK_SECRET=SECRET
        )
    assert result.returncode == 0, result.stderr
    assert [(e.event, e.delivery_id, e.payload) for e in receiver.events] == [
        ("pull_request", "guid-1", PAYLOAD)
    ]
    assert result.stdout.decode().split()[:1] == ["202"]
    assert "guid-1" in result.stdout.decode()


async def test_replay_file_uses_a_fresh_delivery_id_each_time(
    receiver: Receiver, tmp_path: Path
) -> None:
    (tmp_path / "payload.json").write_text(json.dumps(PAYLOAD))
    args = [*command("replay"), "payload.json", "--event", "pull_request", "--url", receiver.url]
    with trio.fail_after(60):
        for _ in range(2):
            result = await run_async(args, tmp_path, GITHUB_WEBHOOK_SECRET=SECRET)
            assert result.returncode == 0, result.stderr
    first, second = (e.delivery_id for e in receiver.events)
    assert first != second
    assert first in result.stdout.decode() or second in result.stdout.decode()


async def test_replay_file_with_the_wrong_secret_exits_non_zero(
    receiver: Receiver, tmp_path: Path
) -> None:
    (tmp_path / "payload.json").write_text(json.dumps(PAYLOAD))
    args = [*command("replay"), "payload.json", "--event", "push", "--url", receiver.url]
    with trio.fail_after(60):
        result = await run_async(args, tmp_path, GITHUB_WEBHOOK_SECRET="not-the-secret")
    assert result.returncode == 1
    assert result.stdout.decode().startswith("401 ")
    assert receiver.events == []
    assert "not-the-secret" not in (result.stdout + result.stderr).decode()


def test_replay_file_to_nothing_listening_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "payload.json").write_text(json.dumps(PAYLOAD))
    url = f"http://127.0.0.1:{free_port()}/webhook/github"
    args = [*command("replay"), "payload.json", "--event", "push", "--url", url]
    result = run(args, tmp_path, GITHUB_WEBHOOK_SECRET=SECRET)
    assert result.returncode == 1
    assert url in one_line(result.stderr)


@pytest.mark.parametrize(
    ("content", "options", "env", "named"),
    [
        pytest.param(
            json.dumps(PAYLOAD), ["--event", "push"], {}, "GITHUB_WEBHOOK_SECRET", id="no-secret"
        ),
        pytest.param(
            json.dumps(PAYLOAD), [], {"GITHUB_WEBHOOK_SECRET": SECRET}, "--event", id="no-event"
        ),
        pytest.param(
            "[1]",
            ["--event", "push"],
            {"GITHUB_WEBHOOK_SECRET": SECRET},
            "not a JSON object",
            id="not-a-payload",
        ),
        pytest.param(
            None,
            ["--event", "push"],
            {"GITHUB_WEBHOOK_SECRET": SECRET},
            "payload.json",
            id="no-file",
        ),
    ],
)
def test_replay_file_refuses_with_one_line(
    tmp_path: Path, content: str | None, options: list[str], env: dict[str, str], named: str
) -> None:
    if content is not None:
        (tmp_path / "payload.json").write_text(content)
    result = run([*command("replay"), "payload.json", *options], tmp_path, **env)
    assert result.returncode == 2
    assert named in one_line(result.stderr)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="nothing-to-replay"),
        pytest.param(["payload.json", "--delivery", "1"], id="file-and-delivery"),
        pytest.param(["payload.json", "--now"], id="now-with-file"),
    ],
)
def test_replay_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = run([*command("replay"), *args], tmp_path, GITHUB_WEBHOOK_SECRET=SECRET)
    assert result.returncode == 2
    assert "Error:" in result.stderr


# --- replay --delivery ----------------------------------------------------------------------------


def stored(store: Store, guid: str, *, at: dt.datetime = T0) -> int:
    headers, body = build_webhook_request("pull_request", PAYLOAD, secret="s", delivery_id=guid)
    new = NewDelivery(
        hook_id=1,
        delivery_id=guid,
        event="pull_request",
        action="closed",
        installation_id=3,
        received_at=at,
        body=body,
        headers=headers,
    )
    assert store.insert_deliveries([new]) == [True]
    return next(d.id for d in store.list_deliveries(limit=1000) if d.delivery_id == guid)


def dead(store: Store, guid: str, *, error: str = "NotFound: 404 gone") -> int:
    id = stored(store, guid)
    claimed = store.claim_next_delivery("old-worker", now=T0 + dt.timedelta(hours=1), lease=60)
    assert claimed is not None and claimed.id == id
    assert store.dead_letter(id, "old-worker", now=T0 + dt.timedelta(hours=1), error=error)
    return id


@pytest.mark.parametrize("by", ["id", "guid"])
def test_replay_delivery_makes_a_dead_delivery_pending_with_no_attempts(
    store: Store, migrated_database: str, tmp_path: Path, by: str
) -> None:
    id = dead(store, "dead-guid")
    ref = str(id) if by == "id" else "dead-guid"
    result = run([*command("replay"), "--delivery", ref], tmp_path, DATABASE_URL=migrated_database)
    assert result.returncode == 0, result.stderr
    after = store.get_delivery(id)
    assert after is not None
    assert (after.status, after.attempts) == (DeliveryStatus.PENDING, 0)
    assert "pending again" in result.stdout


def test_replay_unknown_delivery_exits_2_with_one_line(
    store: Store, migrated_database: str, tmp_path: Path
) -> None:
    result = run(
        [*command("replay"), "--delivery", "4242"], tmp_path, DATABASE_URL=migrated_database
    )
    assert result.returncode == 2
    assert "4242" in one_line(result.stderr)


def test_replay_delivery_now_processes_it_in_the_process(
    store: Store, migrated_database: str, tmp_path: Path
) -> None:
    id = dead(store, "dead-guid")
    env = {
        "DATABASE_URL": migrated_database,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_APP_ID": "77",
        "GITHUB_PRIVATE_KEY": generate_private_key(),
        "GITHUB_API_URL": f"http://127.0.0.1:{free_port()}",
    }
    result = run([*command("replay"), "--delivery", str(id), "--now"], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "done" in result.stdout.splitlines()[-1]
    after = store.get_delivery(id)
    assert after is not None and after.status is DeliveryStatus.DONE


# --- status ---------------------------------------------------------------------------------------


def seed(store: Store) -> int:
    dead_id = dead(store, "dead-guid", error="NotFound: the repository is gone")
    stored(store, "pending-guid", at=T0 + dt.timedelta(hours=2))
    for login, state in [("ann", "commented"), ("bob", "deferred")]:
        invitation = Invitation(
            org_id=10,
            user_id=len(login) * 100 + ord(login[0]),
            org_login="octo-org",
            user_login=login,
            state=state,
            updated_at=T0,
        )
        assert store.insert_invitation(invitation)
    store.throttle_org(10, until=dt.datetime.now(dt.UTC) + dt.timedelta(hours=5))
    return dead_id


def test_status_lists_deliveries_dead_letters_and_invitations(
    store: Store, migrated_database: str, tmp_path: Path
) -> None:
    dead_id = seed(store)
    result = run([*command("status"), "--no-github"], tmp_path, DATABASE_URL=migrated_database)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Deliveries: 1 pending, 0 leased, 0 done, 1 dead" in out
    assert "NotFound: the repository is gone" in out
    assert f"snekomatic replay --delivery {dead_id}" in out
    assert "Invitations (all): 1 sent, 1 deferred" in out
    assert "pull_request.closed" in out
    paused = next(line for line in out.splitlines() if line.startswith("octo-org "))
    assert paused.split()[-1].startswith(("4h", "5h"))


def test_status_without_app_credentials_says_so_in_one_line(
    store: Store, migrated_database: str, tmp_path: Path
) -> None:
    result = run([*command("status")], tmp_path, DATABASE_URL=migrated_database)
    assert result.returncode == 0, result.stderr
    # Asking GitHub takes the app's id and key; the webhook secret is not needed for it.
    assert "not asked: GITHUB_APP_ID and GITHUB_PRIVATE_KEY" in result.stdout
    assert result.stderr == ""


def app_env(database: str, api_url: str, key: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database,
        "GITHUB_WEBHOOK_SECRET": SECRET,
        "GITHUB_APP_ID": "77",
        "GITHUB_PRIVATE_KEY": key,
        "GITHUB_API_URL": api_url,
    }


@pytest.fixture
def world_clock() -> Callable[[], float]:
    return time.time  # the commands sign their JWTs on this machine's clock


async def test_status_shows_each_installations_rate_limit(
    store: Store, migrated_database: str, tmp_path: Path, github_world: GitHubWorld
) -> None:
    env = {"DATABASE_URL": migrated_database, **github_world.app_environ()}
    with trio.fail_after(60):
        result = await run_async([*command("status")], tmp_path, **env)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    row = next(line for line in out.splitlines() if " octo-org " in line)
    assert row.split()[2] == "ok"
    assert env["GITHUB_WEBHOOK_SECRET"] not in out and "PRIVATE KEY" not in out


async def test_status_asks_github_once_and_says_what_failed(
    store: Store, migrated_database: str, tmp_path: Path, github_world: GitHubWorld
) -> None:
    github_world.fake.inject_fault("GET", "/app/installations", kind="server_error", times=1)
    env = {"DATABASE_URL": migrated_database, **github_world.app_environ()}
    with trio.fail_after(60):
        result = await run_async([*command("status")], tmp_path, **env)
    out = result.stdout.decode()
    assert result.returncode == 0, result.stderr
    assert "GitHub could not be asked: ServerError" in out, out
    asked = [r for r in github_world.fake.requests if r.path == "/app/installations"]
    assert len(asked) == 1


def test_status_with_github_unreachable_notes_it_in_one_line(
    store: Store, migrated_database: str, tmp_path: Path
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = app_env(migrated_database, url, generate_private_key())
    result = run([*command("status")], tmp_path, **env)
    assert result.returncode == 0, result.stderr
    assert "GitHub could not be asked: GitHubTransportError" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
