"""The GitHub simulator page in headless Chromium: merge a pull request by clicking, see the welcome.

Selenium (the official WebDriver bindings) drives Debian's ``chromium`` with its ``chromedriver``
(``make test`` installs them, as root, when they are missing: ``make browser``); without them the test
skips and says so. Waiting for the page to show the bot's comment is chromedriver's implicit wait,
inside the browser process: no sleep here.

``snekomatic dev`` runs in this test's Trio run, so the fake and the bot answer the browser while
Selenium's blocking calls run in a worker thread (:class:`Browser`). ``Browser.screenshot(path)``
saves what the browser shows.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TypeVar

import pytest
import trio
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from snekomatic.dev import DevOptions, DevSite, run_dev

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
BENCH_RESULTS = Path(__file__).resolve().parents[1] / "bench-results"
PAGE_WAIT_SECONDS = 30  # chromedriver's implicit wait for elements that appear later

T = TypeVar("T")


class Browser:
    """A Selenium session, awaitable from Trio: each WebDriver call runs in a worker thread, so the
    Trio run that serves the page keeps answering meanwhile."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver

    async def _call(self, fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn)

    async def open(self, url: str) -> None:
        await self._call(partial(self.driver.get, url))

    async def find(self, css: str) -> WebElement:
        """The first element matching ``css``, waiting (in chromedriver) for it to appear."""
        return await self._call(partial(self.driver.find_element, By.CSS_SELECTOR, css))

    async def click(self, element: WebElement) -> None:
        await self._call(element.click)

    async def text(self, element: WebElement) -> str:
        return await self._call(lambda: element.text)

    async def screenshot(self, path: Path) -> Path:
        """Save what the browser shows as a PNG at ``path``; returns ``path``."""
        saved = await self._call(partial(self.driver.save_screenshot, str(path)))
        assert saved, f"the browser could not write {path}"
        return path


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    """Headless Chromium through chromedriver, both Debian's; quit (browser and driver gone) after."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip(
            "headless Chromium is missing: run `make browser` as root, or "
            "`apt-get install chromium chromium-driver`"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in [
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
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ]:
        options.add_argument(argument)
    service = Service(
        executable_path=str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log")
    )
    chrome = webdriver.Chrome(options=options, service=service)
    try:
        chrome.implicitly_wait(PAGE_WAIT_SECONDS)
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def browser(driver: webdriver.Chrome) -> Browser:
    return Browser(driver)


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
        shot = await browser.screenshot(tmp_path / "simulator-welcome.png")
    if BENCH_RESULTS.is_dir():
        shutil.copyfile(shot, BENCH_RESULTS / shot.name)
    print(f"screenshot: {shot}")
    assert "@zeke" in text
    assert shot.read_bytes().startswith(b"\x89PNG")


async def test_the_simulator_shows_what_the_bot_decided_for_a_newcomer_and_for_a_member(
    site: DevSite, browser: Browser, tmp_path: Path
) -> None:
    member = site.world.maintainers[1]  # an active member of the organization, who may write
    own = site.fake.open_pull_request(
        site.world.repo, author=member, title="Tidy the README", body="Shorter *and* clearer."
    )
    newcomer = site.world.pulls["zeke"]
    decisions: dict[str, str] = {}
    with trio.fail_after(60):
        await browser.open(site.simulator_url)
        for pr, verdict in ((newcomer, "invited"), (own, "not-invited")):
            ref = f"{pr.repo.full_name}#{pr.number}"
            await browser.click(
                await browser.find(f'[data-testid="merge-button"][data-pr="{ref}"]')
            )
            shown = await browser.find(
                f'[data-testid="decision"][data-pr="{ref}"][data-kind="{verdict}"]'
            )
            decisions[verdict] = await browser.text(shown)
        shot = await browser.screenshot(tmp_path / "simulator-decisions.png")
    if BENCH_RESULTS.is_dir():
        shutil.copyfile(shot, BENCH_RESULTS / shot.name)
    print(f"screenshot: {shot}")
    assert "invited zeke to snake-pit" in decisions["invited"]
    assert f"{member.login} was already a member of snake-pit" in decisions["not-invited"]
    assert shot.read_bytes().startswith(b"\x89PNG")
