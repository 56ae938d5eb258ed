from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from snekomatic.gh.testing import generate_private_key
from tests.log_scanner import find_leaks

ROOT = Path(__file__).resolve().parent.parent
PROBE = ROOT / "tests" / "fixtures" / "logs_a_secret.py"


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("minted ghs_16C7e42F292c6912E7710c838347Ae178B4a", id="installation-token"),
        pytest.param("auth eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl", id="jwt"),
        pytest.param("Authorization: Bearer abcdefghijklmnopqrstuvwxyz", id="bearer"),
        pytest.param(generate_private_key(), id="private-key"),
    ],
)
def test_secret_shaped_strings_are_found(line: str) -> None:
    assert find_leaks(f"before {line} after", []) != []


def test_known_secrets_are_found_and_ordinary_lines_are_not() -> None:
    assert find_leaks(
        "webhook secret was It's a Secret to Everybody", ["It's a Secret to Everybody"]
    )
    assert (
        find_leaks('{"event": "delivery processed", "delivery_id": "abc"}', ["It's a Secret"]) == []
    )


@pytest.mark.parametrize("workers", ["0", "2"], ids=["one-process", "xdist-workers"])
def test_a_run_whose_test_logs_a_secret_fails_and_says_so(workers: str) -> None:
    """The scan at the end of a session fails the run, also when pytest-xdist's workers ran the tests
    (each scans its own logs and the controller reports)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", workers, "-q", "-p", "no:cacheprovider", str(PROBE)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 passed" in result.stdout, result.stdout + result.stderr
    assert "SECRETS FOUND IN THE LOGS OF THIS RUN" in result.stdout
    assert "(a known test secret)" in result.stdout
    assert result.returncode == pytest.ExitCode.TESTS_FAILED
