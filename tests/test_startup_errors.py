"""Start-up problems a person must fix, each run as a real process: exit status 2, exactly one line on
stderr naming what is wrong and how to fix it (no traceback), and nothing written.

Every case runs ``python -m snekomatic`` in an empty working directory (no ``.env``) with an
environment holding no snekomatic setting but the case's, and then checks that the directory is
still empty: no SQLite file was made, nothing was stored.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from snekomatic.gh.testing import generate_private_key
from tests.keys import ec_private_key_pem
from tests.loopback import free_port

KEY = generate_private_key()
APP = {"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": KEY}
SERVE = {**APP, "GITHUB_WEBHOOK_SECRET": "startup-test-secret", "HOST": "127.0.0.1"}
HOW_TO_WRITE = (
    "write postgresql://user:password@host:5432/name (or postgres://), "
    "or sqlite:///path/to/file.sqlite3 for a file"
)
WHERE_TO_SET = "in the environment or in .env (`snekomatic setup` writes them for a new app)"
USE_ANOTHER_HOST = "use 0.0.0.0 (every interface) or 127.0.0.1 (this machine only)"
_SETTINGS_PREFIXES = ("GITHUB_", "SNEKOMATIC_", "SENTRY_", "DATABASE_URL", "LOG_", "HOST", "PORT")


@dataclass(frozen=True)
class Place:
    """What a case may use: a port nothing listens on, a port in use, a directory for inputs."""

    free_port: int
    busy_port: int
    inputs: Path


@dataclass(frozen=True)
class Case:
    """``args`` to ``snekomatic`` with ``env``; the one line expected on stderr. Each may be a
    function of the :class:`Place`."""

    args: list[str] | Callable[[Place], list[str]]
    env: dict[str, str] | Callable[[Place], dict[str, str]] = field(default_factory=dict)
    line: str | Callable[[Place], str] = ""


T = TypeVar("T")


def _given(value: T | Callable[[Place], T], place: Place) -> T:
    return value(place) if callable(value) else value


def serve_port_in_use(place: Place) -> str:
    return (
        f"port {place.busy_port} on 127.0.0.1 is in use: "
        "stop what uses it, or choose another port with --port or PORT"
    )


CASES = {
    "database-url-not-a-url": Case(
        ["serve", "--port", "0"],
        {**SERVE, "DATABASE_URL": "not-a-url"},
        f"DATABASE_URL is not a database URL: {HOW_TO_WRITE}",
    ),
    "database-url-mysql": Case(
        ["serve", "--port", "0"],
        {**SERVE, "DATABASE_URL": "mysql://bot:hunter2@db.example/bot"},
        f"DATABASE_URL uses mysql://, which snekomatic does not support: {HOW_TO_WRITE}",
    ),
    "database-url-bare-path": Case(
        ["serve", "--port", "0"],
        {**SERVE, "DATABASE_URL": "snekomatic-dev.sqlite3"},
        "DATABASE_URL is a file path, not a URL: write it sqlite:///snekomatic-dev.sqlite3",
    ),
    "database-host-refuses": Case(
        ["serve", "--port", "0"],
        lambda p: {
            **SERVE,
            "DATABASE_URL": f"postgresql://bot:hunter2@127.0.0.1:{p.free_port}/bot",
        },
        lambda p: (
            f"cannot connect to the PostgreSQL database bot at 127.0.0.1:{p.free_port}: "
            "Connection refused (check DATABASE_URL)"
        ),
    ),
    "database-file-cannot-be-opened": Case(
        ["serve", "--port", "0"],
        lambda p: {**SERVE, "DATABASE_URL": f"sqlite:///{p.inputs}/missing/bot.sqlite3"},
        lambda p: (
            f"cannot connect to the SQLite file {p.inputs}/missing/bot.sqlite3: "
            "unable to open database file (check DATABASE_URL)"
        ),
    ),
    "app-id-not-a-number": Case(
        ["serve", "--port", "0"],
        {**SERVE, "GITHUB_APP_ID": "x"},
        "GITHUB_APP_ID is invalid: input should be a valid integer, unable to parse string as an "
        "integer",
    ),
    "private-key-not-pem": Case(
        ["serve", "--port", "0"],
        {**SERVE, "GITHUB_PRIVATE_KEY": "nope"},
        "GITHUB_PRIVATE_KEY is cut short or is not a PEM private key: give the "
        "entire .pem file GitHub made for the app, from its -----BEGIN line to its -----END line",
    ),
    "invite-message-template-unusable": Case(
        ["serve", "--port", "0"],
        lambda p: {**SERVE, "INVITE_MESSAGE_FILE": str(p.inputs / "welcome.md")},
        "INVITE_MESSAGE_FILE is not a usable template: invite message: the template has no "
        "{login} placeholder; the template has no {org} placeholder",
    ),
    "invite-message-file-missing": Case(
        ["serve", "--port", "0"],
        {**SERVE, "INVITE_MESSAGE_FILE": "/nonexistent"},
        "INVITE_MESSAGE_FILE cannot be read: No such file or directory",
    ),
    "host-not-an-address": Case(
        ["serve", "--port", "0"],
        {**SERVE, "HOST": "999.1.1.1"},
        f"HOST 999.1.1.1 is not an IP address: {USE_ANOTHER_HOST}",
    ),
    "port-in-use": Case(lambda p: ["serve", "--port", str(p.busy_port)], SERVE, serve_port_in_use),
    "port-in-use-from-the-environment": Case(
        ["serve"], lambda p: {**SERVE, "PORT": str(p.busy_port)}, serve_port_in_use
    ),
    "dev-port-in-use": Case(
        lambda p: ["dev", "--port", str(p.busy_port)],
        {},
        lambda p: (
            f"port {p.busy_port} on 127.0.0.1 is in use: "
            f"choose another with --port (make run PORT={p.busy_port + 2})"
        ),
    ),
    "private-key-truncated": Case(
        ["serve", "--port", "0"],
        {**SERVE, "GITHUB_PRIVATE_KEY": KEY[: len(KEY) // 2]},
        "GITHUB_PRIVATE_KEY is cut short or is not a PEM private key: give the "
        "entire .pem file GitHub made for the app, from its -----BEGIN line to its -----END line",
    ),
    "private-key-not-rsa": Case(
        ["worker"],
        {**APP, "GITHUB_PRIVATE_KEY": ec_private_key_pem()},
        "GITHUB_PRIVATE_KEY is not an RSA key: GitHub App keys are RSA; "
        "generate one in the app's settings on GitHub",
    ),
    "log-level-verbose": Case(
        ["serve", "--port", "0"],
        {**SERVE, "LOG_LEVEL": "verbose"},
        "LOG_LEVEL must be debug, info, warning or error",
    ),
    "log-format-unknown": Case(
        ["serve", "--port", "0"],
        {**SERVE, "LOG_FORMAT": "xml"},
        "LOG_FORMAT must be console or json",
    ),
    "every-malformed-setting-at-once": Case(
        ["serve", "--port", "0"],
        {**SERVE, "PORT": "eighty", "LOG_LEVEL": "verbose"},
        "PORT is invalid: input should be a valid integer, unable to parse string as an integer; "
        "LOG_LEVEL must be debug, info, warning or error",
    ),
    "serve-every-missing-setting-at-once": Case(
        ["serve", "--port", "0"],
        {},
        "GITHUB_WEBHOOK_SECRET, GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH)"
        f" are not set: set them {WHERE_TO_SET}",
    ),
    "serve-missing-webhook-secret": Case(
        ["serve", "--port", "0"],
        APP,
        f"GITHUB_WEBHOOK_SECRET is not set: set it {WHERE_TO_SET}",
    ),
    **{
        f"{name}-needs-no-webhook-secret": Case(
            args,
            {},
            "GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) are not set: "
            f"set them {WHERE_TO_SET}",
        )
        for name, args in [
            ("worker", ["worker"]),
            ("redeliver", ["redeliver"]),
            ("backfill", ["backfill", "--org", "acme"]),
            ("replay-now", ["replay", "--delivery", "1", "--now"]),
        ]
    },
    "replay-checks-the-file-before-the-secret": Case(
        ["replay", "missing.json"],
        {},
        "missing.json: No such file or directory",
    ),
    "replay-needs-the-secret-for-a-good-file": Case(
        lambda p: ["replay", str(p.inputs / "ping.json"), "--event", "ping"],
        {},
        "GITHUB_WEBHOOK_SECRET is not set: it signs the payload; set it to the bot's secret",
    ),
}


@pytest.fixture
def place(tmp_path: Path) -> Iterator[Place]:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    (inputs / "ping.json").write_text('{"zen": "Keep it logically awesome.", "hook_id": 1}')
    (inputs / "welcome.md").write_text("Thanks for your contribution!")  # neither {login} nor {org}
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield Place(free_port=free_port(), busy_port=busy.getsockname()[1], inputs=inputs)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_start_up_problem_is_one_line_exit_status_2_and_nothing_written(
    case: Case, place: Place, tmp_path: Path
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SETTINGS_PREFIXES)}
    env.update(_given(case.env, place))
    result = subprocess.run(
        [sys.executable, "-m", "snekomatic", *_given(case.args, place)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (result.returncode, result.stderr) == (2, f"snekomatic: {_given(case.line, place)}\n")
    assert list(cwd.iterdir()) == []
    assert "hunter2" not in result.stderr and KEY.splitlines()[1] not in result.stderr
    assert "nope" not in result.stderr  # a setting's value is never shown
