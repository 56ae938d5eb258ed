"""What the bot logs: one line per GitHub call (DEBUG) and per delivery, as JSON, secrets redacted;
and in which format (a readable line at a terminal, JSON elsewhere, or as ``LOG_FORMAT`` says).

The suite's logging is configured once (tests/conftest.py) as in production, writing to CAPTURED; these
tests read what a step appended there. The format is seen from a process of its own, its stderr a
pipe or a terminal.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
import trio

from snekomatic.gh import GitHubApp
from snekomatic.gh.testing import FakeGitHub, GitHubWorld
from snekomatic.inbox import delivery_processor
from snekomatic.logs import note_decision
from snekomatic.store import Delivery, DeliveryStatus
from tests.log_scanner import CAPTURED
from tests.payloads import load_payload


class NewLines:
    """The JSON log lines written to CAPTURED after this object was made."""

    def __init__(self) -> None:
        self.start = len(CAPTURED.getvalue())

    def __call__(self) -> list[dict[str, Any]]:
        text = CAPTURED.getvalue()[self.start :]
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture
def new_lines() -> Iterator[NewLines]:
    yield NewLines()


@pytest.fixture
async def app(github_world: GitHubWorld) -> tuple[GitHubApp, FakeGitHub]:
    return github_world.app, github_world.fake


async def test_each_github_call_is_one_debug_line_with_the_remaining_rate_limit(
    app: tuple[GitHubApp, FakeGitHub], new_lines: NewLines
) -> None:
    github_app, fake = app
    org = fake.add_org("acme")
    installation = fake.install(org)
    with trio.fail_after(30):
        await github_app.client_for(installation.id).getitem("/orgs/{org}", {"org": "acme"})
    calls = [line for line in new_lines() if line["event"] == "GitHub call"]
    assert [(c["method"], c["path"], c["status"]) for c in calls] == [
        ("POST", f"/app/installations/{installation.id}/access_tokens", 201),
        ("GET", "/orgs/acme", 200),
    ]
    assert all(c["level"] == "debug" and isinstance(c["rate_limit_remaining"], int) for c in calls)
    assert "ghs_" not in json.dumps(calls)
    # httpx's own line per request would only repeat these.
    assert not [line for line in new_lines() if line["event"].startswith("HTTP Request:")]


def _pull_request_delivery(guid: str) -> Delivery:
    """A stored ``pull_request.closed`` delivery (octokit's example), leased, first attempt."""
    payload = load_payload("pull_request", "closed.with-organization")
    body = json.dumps(payload).encode()
    now = dt.datetime.now(dt.UTC)
    return Delivery(
        id=1,
        hook_id=1,
        delivery_id=guid,
        event="pull_request",
        action="closed",
        installation_id=payload.get("installation", {}).get("id"),
        received_at=now,
        status=DeliveryStatus.LEASED,
        attempts=1,
        next_attempt_at=now,
        lease_owner="w",
        lease_expires_at=now,
        last_error=None,
        finished_at=None,
        body=body,
        headers={
            "content-type": "application/json",
            "x-github-event": "pull_request",
            "x-github-delivery": guid,
        },
    )


async def test_each_delivery_is_one_line_with_its_outcome_and_duration(
    app: tuple[GitHubApp, FakeGitHub], new_lines: NewLines
) -> None:
    github_app, _ = app
    delivery = _pull_request_delivery("d-7")
    await delivery_processor(github_app.dispatch)(
        delivery
    )  # no handler is routed: it is simply done
    [line] = [line for line in new_lines() if line["event"] == "delivery processed"]
    assert (line["delivery_id"], line["github_event"], line["action"], line["outcome"]) == (
        "d-7",
        "pull_request",
        "closed",
        "done",
    )
    assert "duration_ms" in line and "installation_id" in line
    assert line["decision"] == "nothing to do"


async def test_a_delivery_s_line_says_what_its_handlers_decided(
    app: tuple[GitHubApp, FakeGitHub], new_lines: NewLines
) -> None:
    github_app, _ = app

    @github_app.route("pull_request", action="closed")
    async def decide(ctx: object) -> None:
        note_decision("not invited", reason="already a member")

        async def welcome() -> None:
            note_decision("welcomed")

        async with trio.open_nursery() as nursery:  # a task of the handler's says so too
            nursery.start_soon(welcome)

    delivery = _pull_request_delivery("d-8")
    await delivery_processor(github_app.dispatch)(delivery)
    [line] = [line for line in new_lines() if line["event"] == "delivery processed"]
    assert line["decision"] == "not invited (reason=already a member); welcomed"
    assert not [line for line in new_lines() if line["event"] == "decided"]


def test_a_decision_outside_a_delivery_is_a_line_of_its_own(new_lines: NewLines) -> None:
    note_decision("invited", user="alice")
    [line] = [line for line in new_lines() if line["event"] == "decided"]
    assert (line["decision"], line["level"]) == ("invited (user=alice)", "info")


def test_secret_shaped_values_are_redacted_from_log_lines(new_lines: NewLines) -> None:
    structlog.get_logger("test").info("minted", token="ghs_16C7e42F292c6912E7710c838347Ae178B4a")
    [line] = new_lines()
    assert line["token"] == "[redacted]"


def test_another_librarys_exception_text_is_redacted(new_lines: NewLines) -> None:
    # Hypercorn, httpx, SQLAlchemy... log through standard logging with exc_info: the traceback's
    # text is rendered from the exception, whose message may quote a credential.
    token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
    try:
        raise RuntimeError(f"request with Authorization: token {token} failed")
    except RuntimeError:
        logging.getLogger("some.library").exception("unexpected error")
    [line] = new_lines()
    assert token not in json.dumps(line)
    assert "RuntimeError" in line["exception"]


_LOG_ONE_EVENT = (
    "import structlog; from snekomatic.runtime import load_settings, start_logging; "
    "start_logging(load_settings()); structlog.get_logger('t').info('hello', answer=42)"
)


def _stderr_of_one_event(cwd: Path, log_format: str | None, *, terminal: bool) -> str:
    """What a process that logs one event writes to its stderr, a terminal or a pipe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOG_")}
    if log_format is not None:
        env["LOG_FORMAT"] = log_format
    if not terminal:
        return subprocess.run(
            [sys.executable, "-c", _LOG_ONE_EVENT],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stderr
    controller, terminal_fd = os.openpty()
    try:
        subprocess.run(
            [sys.executable, "-c", _LOG_ONE_EVENT],
            env=env,
            cwd=cwd,
            stderr=terminal_fd,
            check=True,
            timeout=60,
        )
        os.close(terminal_fd)
        output = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the terminal's other end is closed and everything was read
                break
            if not chunk:
                break
            output += chunk
    finally:
        os.close(controller)
    return output.decode()


@pytest.mark.parametrize(
    ("terminal", "log_format", "as_json"),
    [
        pytest.param(True, None, False, id="terminal"),
        pytest.param(False, None, True, id="pipe"),
        pytest.param(True, "json", True, id="terminal-log-format-json"),
        pytest.param(False, "console", False, id="pipe-log-format-console"),
    ],
)
def test_logs_are_readable_lines_at_a_terminal_and_json_elsewhere_unless_log_format_says(
    tmp_path: Path, terminal: bool, log_format: str | None, as_json: bool
) -> None:
    [line] = _stderr_of_one_event(tmp_path, log_format, terminal=terminal).splitlines()
    if as_json:
        assert {k: v for k, v in json.loads(line).items() if k != "timestamp"} == {
            "event": "hello",
            "answer": 42,
            "level": "info",
        }
    else:
        assert "hello" in line and "answer" in line and "42" in line
        assert not line.startswith("{")
        assert ("\x1b[" in line) is terminal  # colour only at a terminal
