"""``snekomatic dev``: the bot and a fake GitHub in one process, to try the bot with no GitHub account
(``_site``); the GitHub simulator, a web page the fake serves where a person opens, merges and
comments on pull requests as anyone and sees what the bot did (``_simulator``, ``_simulator_state``,
``_simulator_page``, ``_bot_view``), with GitHub's page installing the app (``_install_page``); the run
file through which ``snekomatic replay --dev`` finds a running dev bot (``_run_file``); and the fake
GitHub served on its own (``_fake_server``, for ``snekomatic fake-github``).

Not for ``snekomatic serve``: it imports the fake GitHub (:mod:`snekomatic.gh.testing`).
"""

from snekomatic.dev._bot_view import BotReport as BotReport
from snekomatic.dev._bot_view import BotStatus as BotStatus
from snekomatic.dev._bot_view import BotWatch as BotWatch
from snekomatic.dev._fake_server import DEFAULT_KEY_FILE as DEFAULT_KEY_FILE
from snekomatic.dev._fake_server import fake_github_key_file as fake_github_key_file
from snekomatic.dev._run_file import DEFAULT_RUN_FILE as DEFAULT_RUN_FILE
from snekomatic.dev._run_file import DevRun as DevRun
from snekomatic.dev._run_file import DevRunError as DevRunError
from snekomatic.dev._run_file import read_run_file as read_run_file
from snekomatic.dev._run_file import run_file_for as run_file_for
from snekomatic.dev._simulator import PAGE_PATH as PAGE_PATH
from snekomatic.dev._simulator import ChangeFeed as ChangeFeed
from snekomatic.dev._simulator import install_change_feed as install_change_feed
from snekomatic.dev._simulator import install_simulator as install_simulator
from snekomatic.dev._simulator_page import render_markdown as render_markdown
from snekomatic.dev._simulator_state import install_path as install_path
from snekomatic.dev._simulator_state import simulator_state as simulator_state
from snekomatic.dev._site import DEFAULT_DATABASE as DEFAULT_DATABASE
from snekomatic.dev._site import DemoWorld as DemoWorld
from snekomatic.dev._site import DevError as DevError
from snekomatic.dev._site import DevOptions as DevOptions
from snekomatic.dev._site import DevSite as DevSite
from snekomatic.dev._site import dev_settings as dev_settings
from snekomatic.dev._site import fresh_database as fresh_database
from snekomatic.dev._site import run_dev as run_dev
from snekomatic.dev._site import seed_demo as seed_demo
from snekomatic.dev._site import sqlite_url as sqlite_url

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_KEY_FILE",
    "DEFAULT_RUN_FILE",
    "PAGE_PATH",
    "BotReport",
    "BotStatus",
    "BotWatch",
    "ChangeFeed",
    "DemoWorld",
    "DevError",
    "DevOptions",
    "DevRun",
    "DevRunError",
    "DevSite",
    "dev_settings",
    "fake_github_key_file",
    "fresh_database",
    "install_change_feed",
    "install_path",
    "install_simulator",
    "read_run_file",
    "render_markdown",
    "run_dev",
    "run_file_for",
    "seed_demo",
    "simulator_state",
    "sqlite_url",
]
