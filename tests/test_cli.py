"""The ``snekomatic`` command, run as a real process (its start-up problems: test_startup_errors.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import trio

from snekomatic.features import MissingPermission
from snekomatic.gh.sansio import encode_app_jwt
from snekomatic.runtime import needs_a_person

SNEKOMATIC = [sys.executable, "-m", "snekomatic"]


def clean_env(**overrides: str) -> dict[str, str]:
    """The environment without any snekomatic or GitHub setting, plus ``overrides``.

    Without ``COLUMNS`` and ``LINES`` too, so that a command's output is as wide as on a pipe (what
    the tests read) whatever terminal runs the tests: pytest-xdist's workers have ``COLUMNS=80``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "SNEKOMATIC_", "DATABASE_URL", "SENTRY_"))
        and k not in ("COLUMNS", "LINES")
    }
    env.update(overrides)
    return env


async def run_async(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``args`` in ``cwd`` under :func:`clean_env` plus ``env``; its output captured, any exit
    status returned (not raised)."""
    return await trio.run_process(
        args, env=clean_env(**env), cwd=cwd, capture_stdout=True, capture_stderr=True, check=False
    )


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


def test_only_a_missing_permission_is_a_failure_retrying_cannot_cure() -> None:
    missing = MissingPermission(
        permission="members", endpoint="POST /orgs/{org}/invitations", account="acme"
    )
    assert needs_a_person(missing)
    assert needs_a_person(ExceptionGroup("handlers failed", [missing]))
    assert not needs_a_person(ExceptionGroup("handlers failed", [missing, RuntimeError("502")]))
    assert not needs_a_person(RuntimeError("502"))
