"""The README's "Write your own bot" quickstart, run as written: its Python block saved under the name
the text gives, in an empty directory, its command run there as a process with the environment's
``snekomatic`` script, and the handler seen to act in the GitHub simulator.

The one change to the command: ``--port`` and ``--fake-port`` pick free ports instead of the
defaults, which another process on this machine may hold.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.conftest import answers_healthz, free_port, wait_blocking

README = Path(__file__).parents[1] / "README.md"
SECTION = "## Write your own bot"
READY_SECONDS = 30.0
HANDLED_SECONDS = 20.0


def quickstart() -> tuple[str, str, list[str]]:
    """The quickstart's file name, its code, and the commands it shows (``$ `` lines)."""
    section = README.read_text().split(SECTION + "\n", 1)[1].split("\n## ", 1)[0]
    named = re.search(r"save this as\s+`([\w.]+\.py)`", section)
    assert named is not None, "the quickstart names no file to save"
    (code,) = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    consoles = re.findall(r"```console\n(.*?)```", section, re.DOTALL)
    commands = [line[2:] for block in consoles for line in block.splitlines() if line.startswith("$ ")]
    return named.group(1), code, commands


def script(name: str) -> list[str]:
    """The console script ``name`` of this environment, as a person's shell would find it."""
    installed = Path(sys.executable).with_name(name)
    assert installed.exists(), f"{installed} is missing: install the package (pip install -e .)"
    return [str(installed)]


def test_the_quickstart_is_under_20_lines() -> None:
    _, code, commands = quickstart()
    assert len(code.splitlines()) + len(commands) < 20


def test_the_quickstart_runs_as_written_and_its_handler_answers_in_the_simulator(
    tmp_path: Path,
) -> None:
    name, code, commands = quickstart()
    (tmp_path / name).write_text(code)
    (command,) = commands
    program, *args = shlex.split(command)
    port, fake_port = free_port(), free_port()
    argv = [*script(program), *args, "--port", str(port), "--fake-port", str(fake_port)]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PYTHONPATH"))}
    log = tmp_path / "quickstart.log"
    with log.open("w") as output:
        process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=output, stderr=output)
    simulator = f"http://127.0.0.1:{fake_port}/_simulator/api"
    running = partial(
        answers_healthz, process, f"http://127.0.0.1:{port}/healthz", lambda: log.read_text()[-3000:]
    )
    try:
        wait_blocking(running, deadline=READY_SECONDS, what="snekomatic dev ready")
        state = httpx.get(f"{simulator}/state", timeout=5).json()
        repo = state["repos"][0]["full_name"]
        author = state["repos"][0]["pulls"][0]["author"]
        opened = httpx.post(
            f"{simulator}/pulls",
            json={"repo": repo, "author": author, "title": "Try the quickstart"},
            timeout=10,
        )
        assert opened.status_code == 201, opened.text
        number = opened.json()["number"]

        def bot_comments() -> list[str]:
            state: dict[str, Any] = httpx.get(f"{simulator}/state", timeout=5).json()
            (pull,) = [p for p in state["repos"][0]["pulls"] if p["number"] == number]
            return [c["body"] for c in pull["comments"] if c["author"] == state["app"]["bot"]]

        wait_blocking(lambda: bool(bot_comments()), deadline=HANDLED_SECONDS, what="its comment")
        assert [f"@{author}" in body for body in bot_comments()] == [True]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=25)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, log.read_text()[-3000:]
    # What it prints speaks of the reader's bot, not of the invitations snekomatic's own would send.
    printed = log.read_text()
    assert f"The bot is {args[args.index('--app') + 1]}" in printed and "invites" not in printed
