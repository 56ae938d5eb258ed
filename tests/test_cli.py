"""The ``snekomatic`` command, run as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trio

from snekomatic.features import MissingPermission
from snekomatic.gh.sansio import encode_app_jwt
from snekomatic.gh.testing import generate_private_key
from snekomatic.runtime import needs_a_person

SNEKOMATIC = [sys.executable, "-m", "snekomatic"]
KEY = generate_private_key()


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without any snekomatic or GitHub setting, plus ``overrides``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "SNEKOMATIC_", "DATABASE_URL", "SENTRY_"))
    }
    env.update(overrides)
    return env


@pytest.mark.parametrize(
    ("given", "named"),
    [
        pytest.param({}, "GITHUB_WEBHOOK_SECRET", id="no-secret"),
        pytest.param({"GITHUB_WEBHOOK_SECRET": "s"}, "GITHUB_APP_ID", id="no-app-id"),
        pytest.param(
            {"GITHUB_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": "1"}, "GITHUB_PRIVATE_KEY", id="no-key"
        ),
        pytest.param(
            {"GITHUB_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": "x"}, "GITHUB_APP_ID", id="bad-app-id"
        ),
        pytest.param(
            {"GITHUB_WEBHOOK_SECRET": "s", "GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": "nope"},
            "GITHUB_PRIVATE_KEY",
            id="key-not-pem",
        ),
        pytest.param({"PORT": "eighty"}, "PORT", id="bad-port"),
        pytest.param(
            {
                "GITHUB_WEBHOOK_SECRET": "s",
                "GITHUB_APP_ID": "1",
                "GITHUB_PRIVATE_KEY": KEY,
                "INVITE_MESSAGE_FILE": "missing-welcome.md",
            },
            "INVITE_MESSAGE_FILE",
            id="invite-message-file-missing",
        ),
    ],
)
def test_serve_refuses_to_start_with_one_line_naming_the_setting(
    tmp_path: Path, given: dict[str, str], named: str
) -> None:
    result = subprocess.run(
        [*SNEKOMATIC, "serve", "--port", "0"],
        env=clean_env(**given),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0]
    assert "nope" not in result.stderr  # a setting's value is never shown


def test_migrate_creates_the_sqlite_database_in_the_working_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SNEKOMATIC, "migrate"],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "snekomatic.sqlite3").exists()


async def test_fake_github_command_serves_the_fake_until_sigterm(tmp_path: Path) -> None:
    with trio.fail_after(60):
        process = await trio.lowlevel.open_process(
            [*SNEKOMATIC, "fake-github", "--port", "0", "--app-id", "7"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            first_line = b""
            while b"\n" not in first_line:
                first_line += await process.stdout.receive_some()
            url = first_line.decode().split()[3]
            key = (tmp_path / "fake-github-key.pem").read_text()
            token, _ = encode_app_jwt(7, key, time.time())
            async with httpx.AsyncClient() as http:
                response = await http.get(
                    f"{url}/app", headers={"Authorization": f"Bearer {token}", "User-Agent": "t"}
                )
                simulator = await http.get(f"{url}/_simulator")
            assert response.status_code == 200
            assert response.json()["id"] == 7
            assert simulator.status_code == 200  # the GitHub simulator's page, as in dev
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
        finally:
            process.kill()
    assert oct((tmp_path / "fake-github-key.pem").stat().st_mode & 0o777) == "0o600"


def test_serve_refuses_an_invite_message_template_it_cannot_use(tmp_path: Path) -> None:
    template = tmp_path / "welcome.md"
    template.write_text("Thanks for your contribution!")  # names neither {login} nor {org}
    result = subprocess.run(
        [*SNEKOMATIC, "serve", "--port", "0"],
        env=clean_env(
            GITHUB_WEBHOOK_SECRET="s",
            GITHUB_APP_ID="1",
            GITHUB_PRIVATE_KEY=generate_private_key(),
            INVITE_MESSAGE_FILE=str(template),
        ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "INVITE_MESSAGE_FILE" in result.stderr


def test_only_a_missing_permission_is_a_failure_retrying_cannot_cure() -> None:
    missing = MissingPermission(
        permission="members", endpoint="POST /orgs/{org}/invitations", account="acme"
    )
    assert needs_a_person(missing)
    assert needs_a_person(ExceptionGroup("handlers failed", [missing]))
    assert not needs_a_person(ExceptionGroup("handlers failed", [missing, RuntimeError("502")]))
    assert not needs_a_person(RuntimeError("502"))
