"""The GitHub simulator page in headless Chromium: merge a pull request by clicking, see the welcome.

Debian's ``chromium`` and ``chromium-driver`` packages drive it; the session fixture installs them with
apt-get when they are missing and the tests run as root, and skips with the reason otherwise. The test
speaks chromedriver's W3C WebDriver HTTP API with httpx (no Selenium). Waiting for the page to show the
bot's comment is chromedriver's implicit wait, inside the browser process: no sleep here.

``snekomatic dev`` runs in this test's Trio run, so the fake and the bot answer the browser while the
test awaits chromedriver. Chromedriver runs in its own process group; the group is killed afterwards and
no process using this test's browser profile may survive.
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio

from snekomatic.dev import DevOptions, DevSite, run_dev

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
PACKAGES = ["chromium", "chromium-driver"]
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C key of an element reference
BENCH_RESULTS = Path(__file__).resolve().parents[1] / "bench-results"
PAGE_WAIT_MS = 30_000  # chromedriver's implicit wait for elements that appear later


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args], env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="session")
def chromium() -> tuple[Path, Path]:
    """Chromium and chromedriver, installed with apt-get if missing (root only); else a skip."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return CHROMIUM, CHROMEDRIVER
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            "headless Chromium is missing: install Debian's chromium and chromium-driver "
            "(the tests install them only when running as root on a system with apt-get)"
        )
    result = _apt_get("install", "-y", *PACKAGES)
    if result.returncode != 0:
        _apt_get("update")
        result = _apt_get("install", "-y", *PACKAGES)
    if result.returncode != 0 or not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        reason = (result.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"could not install chromium and chromium-driver with apt-get: {reason}")
    return CHROMIUM, CHROMEDRIVER


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def processes_using(marker: str) -> list[int]:
    """The pids whose command line mentions ``marker`` (this test's browser profile directory)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(entry.name))
    return found


def stop_process_tree(process: subprocess.Popen[bytes], profile: Path) -> None:
    """Kill chromedriver's process group, then any process still using ``profile``; wait for them."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while survivors := processes_using(str(profile)):
        for pid in survivors:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if time.monotonic() > deadline:
            raise AssertionError(f"browser processes left behind: {survivors}")
        time.sleep(0.05)  # another process is exiting: nothing to wait on but /proc


@dataclass
class Driver:
    """chromedriver's address and the browser profile directory this test's browser uses."""

    url: str
    profile: Path
    chromium: Path


@pytest.fixture
def driver(chromium: tuple[Path, Path], tmp_path: Path) -> Iterator[Driver]:
    browser, chromedriver = chromium
    port = free_port()
    profile = tmp_path / "chromium-profile"
    with (tmp_path / "chromedriver.log").open("wb") as log:
        process = subprocess.Popen(
            [str(chromedriver), f"--port={port}"],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:  # another process starting up: poll its status endpoint
            try:
                if httpx.get(f"{url}/status", timeout=1).json()["value"]["ready"]:
                    break
            except (httpx.TransportError, ValueError, KeyError):
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("chromedriver did not become ready within 20 s")
            time.sleep(0.05)
        yield Driver(url=url, profile=profile, chromium=browser)
    finally:
        stop_process_tree(process, profile)


class Browser:
    """A WebDriver session, spoken as plain JSON over HTTP."""

    def __init__(self, http: httpx.AsyncClient, session_id: str) -> None:
        self.http = http
        self.session_id = session_id

    async def command(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, f"/session/{self.session_id}{path}", json=body)
        value = response.json()["value"]
        if response.status_code != 200:
            raise AssertionError(f"WebDriver {method} {path}: {value.get('message', value)}")
        return value

    async def open(self, url: str) -> None:
        await self.command("POST", "/url", {"url": url})

    async def find(self, css: str) -> str:
        """The first element matching ``css``, waiting (in chromedriver) for it to appear."""
        found = await self.command("POST", "/element", {"using": "css selector", "value": css})
        assert ELEMENT in found, found
        return str(found[ELEMENT])

    async def click(self, element: str) -> None:
        await self.command("POST", f"/element/{element}/click", {})

    async def text(self, element: str) -> str:
        return str(await self.command("GET", f"/element/{element}/text"))

    async def screenshot(self) -> bytes:
        return base64.b64decode(await self.command("GET", "/screenshot"))


@pytest.fixture
async def browser(driver: Driver) -> AsyncIterator[Browser]:
    args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,2000",
        f"--user-data-dir={driver.profile}",
    ]
    capabilities = {
        "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": str(driver.chromium), "args": args},
        }
    }
    async with httpx.AsyncClient(base_url=driver.url, timeout=60) as http:
        response = await http.post("/session", json={"capabilities": capabilities})
        assert response.status_code == 200, response.text
        session = Browser(http, response.json()["value"]["sessionId"])
        await session.command("POST", "/timeouts", {"implicit": PAGE_WAIT_MS})
        try:
            yield session
        finally:
            await http.delete(f"/session/{session.session_id}")


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[DevSite]:
    stop = trio.Event()
    options = DevOptions(port=0, fake_port=0, database=tmp_path / "dev.sqlite3")
    async with trio.open_nursery() as nursery:
        running: DevSite = await nursery.start(partial(run_dev, options, stop=stop))
        yield running
        stop.set()


async def test_merging_in_the_simulator_shows_the_bots_welcome(
    site: DevSite, browser: Browser, tmp_path: Path
) -> None:
    pr = site.world.pulls["zeke"]
    ref = f"{pr.repo.full_name}#{pr.number}"
    bot = site.fake.bot.login
    with trio.fail_after(60):
        await browser.open(site.simulator_url)
        await browser.click(await browser.find(f'[data-testid="merge-button"][data-pr="{ref}"]'))
        welcome = await browser.find(
            f'[data-testid="pull"][data-pr="{ref}"] '
            f'[data-testid="comment"][data-author="{bot}"] [data-testid="comment-body"]'
        )
        text = await browser.text(welcome)
        await browser.find('[data-testid="invitation"][data-invitee="zeke"]')
        shot = tmp_path / "simulator-welcome.png"
        shot.write_bytes(await browser.screenshot())
    if BENCH_RESULTS.is_dir():
        shutil.copyfile(shot, BENCH_RESULTS / shot.name)
    print(f"screenshot: {shot}")
    assert "@zeke" in text
    assert shot.read_bytes().startswith(b"\x89PNG")
