"""The durable peers of ``../shared/peers/``: Probot 14 + node-postgres, and gidgethub + aiohttp + asyncpg.

They are installed outside the project's virtual environment, exactly as that directory's README says,
into a cache directory (``bench-results/peers/`` unless ``SNEKOMATIC_BENCH_PEERS_CACHE`` names another),
and run from where they are: their code is never copied into this repository. The peers' directory is
``../shared/peers`` next to the repository root, or ``SNEKOMATIC_BENCH_PEERS``.

Each peer stores every delivery with one awaited ``INSERT ... ON CONFLICT DO NOTHING`` into its own
``webhook_inbox`` table (dropped and created at start-up) and answers ``GET /count`` with the rows
stored. A peer that cannot be installed or found is skipped, and ``Peer.skipped`` says why.

``python -m bench.peers`` installs both (or says why not) and prints where they are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INSTALL_TIMEOUT_S = 600


def peers_dir() -> Path:
    """Where probot_app.mjs and gidgethub_server.py are: ``$SNEKOMATIC_BENCH_PEERS`` or ../shared/peers."""
    override = os.environ.get("SNEKOMATIC_BENCH_PEERS")
    return Path(override) if override else REPO.parent / "shared" / "peers"


def cache_dir() -> Path:
    """Where the peers' dependencies are installed: ``$SNEKOMATIC_BENCH_PEERS_CACHE`` or bench-results/peers."""
    override = os.environ.get("SNEKOMATIC_BENCH_PEERS_CACHE")
    return Path(override) if override else REPO / "bench-results" / "peers"


@dataclass
class Peer:
    """One installed peer (``skipped`` None) or the reason it could not be had."""

    key: str
    title: str
    webhook_path: str
    skipped: str | None = None
    argv: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    versions: str = ""


def _run(argv: list[str], cwd: Path, log: Path) -> str | None:
    """Run an install step, its output appended to ``log``; None on success, else why it failed."""
    try:
        with open(log, "ab") as out:
            out.write(f"$ {' '.join(argv)}\n".encode())
            out.flush()
            completed = subprocess.run(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{argv[0]}: {type(exc).__name__}: {exc}"
    if completed.returncode != 0:
        tail = " | ".join(log.read_text(errors="replace").strip().splitlines()[-3:])
        return f"`{' '.join(argv)}` exited with {completed.returncode}: {tail}"
    return None


def _node_version(directory: Path, package: str) -> str:
    import json

    try:
        manifest = directory / "node_modules" / package / "package.json"
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "?"


def probot_peer(*, install: bool = True) -> Peer:
    """Probot 14 + pg 8 (``npm install --no-audit --no-fund probot@14 pg@8`` in the cache)."""
    peer = Peer("probot", "Probot 14 + node-postgres (peer)", "/api/github/webhooks")
    script = peers_dir() / "probot_app.mjs"
    if not script.exists():
        peer.skipped = f"{script} not found (set SNEKOMATIC_BENCH_PEERS)"
        return peer
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        peer.skipped = "node and npm are not on PATH"
        return peer
    directory = cache_dir() / "probot"
    probot = directory / "node_modules" / "probot"
    ready = (probot / "lib" / "index.js").exists() and (directory / "node_modules" / "pg").exists()
    if not ready:
        if not install:
            peer.skipped = f"not installed in {directory}"
            return peer
        directory.mkdir(parents=True, exist_ok=True)
        print(f"    installing Probot 14 + pg 8 into {directory} (npm) ...", flush=True)
        failure = _run(
            [npm, "install", "--no-audit", "--no-fund", "probot@14", "pg@8"],
            directory,
            directory / "install.log",
        )
        if failure:
            peer.skipped = f"npm install failed: {failure}"
            return peer
        if not (probot / "lib" / "index.js").exists():
            peer.skipped = f"npm install left no {probot}/lib/index.js"
            return peer
    peer.argv = [node, str(script)]
    peer.cwd = directory
    peer.env = {"PROBOT_DIR": str(probot), "BENCH_VARIANT": "pg", "NODE_ENV": "production"}
    node_version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    peer.versions = (
        f"probot {_node_version(directory, 'probot')}, pg {_node_version(directory, 'pg')}, "
        f"node {node_version}"
    )
    return peer


def gidgethub_peer(*, install: bool = True) -> Peer:
    """gidgethub + aiohttp + asyncpg in their own venv (``python3 -m venv``, then pip) in the cache."""
    peer = Peer("gidgethub", "gidgethub + aiohttp + asyncpg (peer)", "/webhook/github")
    script = peers_dir() / "gidgethub_server.py"
    if not script.exists():
        peer.skipped = f"{script} not found (set SNEKOMATIC_BENCH_PEERS)"
        return peer
    venv = cache_dir() / "gidgethub-venv"
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import aiohttp, gidgethub, asyncpg"]
    ready = (
        python.exists() and subprocess.run(check, capture_output=True, timeout=60).returncode == 0
    )
    if not ready:
        if not install:
            peer.skipped = f"not installed in {venv}"
            return peer
        base = shutil.which("python3") or sys.executable
        venv.parent.mkdir(parents=True, exist_ok=True)
        log = venv.parent / "gidgethub-install.log"
        print(f"    installing aiohttp, gidgethub, asyncpg into {venv} (pip) ...", flush=True)
        failure = _run([base, "-m", "venv", str(venv)], venv.parent, log) or _run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "aiohttp>=3.9",
                "gidgethub>=5",
                "asyncpg>=0.29",
            ],
            venv.parent,
            log,
        )
        if failure:
            peer.skipped = f"install failed: {failure}"
            return peer
    versions = subprocess.run(
        [
            str(python),
            "-c",
            "import sys, aiohttp, gidgethub, asyncpg; print(f'gidgethub {gidgethub.__version__}, "
            "aiohttp {aiohttp.__version__}, asyncpg {asyncpg.__version__}, "
            "python {sys.version.split()[0]}')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if versions.returncode != 0:
        peer.skipped = f"the peer's venv cannot import its packages: {versions.stderr.strip()}"
        return peer
    peer.versions = versions.stdout.strip()
    peer.argv = [str(python), str(script), "--variant", "pg"]
    peer.cwd = peers_dir()
    return peer


def count_rows(base_url: str) -> int | None:
    """The peer's ``GET /count`` (rows in its webhook_inbox); None when it does not answer."""
    if not base_url.startswith("http://127.0.0.1:"):
        raise ValueError("peers are reached on loopback only")
    try:
        with urllib.request.urlopen(base_url + "/count", timeout=5) as response:
            return int(response.read().decode().strip())
    except (OSError, ValueError):
        return None


if __name__ == "__main__":
    for found in (probot_peer(), gidgethub_peer()):
        if found.skipped:
            print(f"{found.title}: skipped: {found.skipped}")
        else:
            print(f"{found.title}: {found.versions}; {' '.join(found.argv)}")
