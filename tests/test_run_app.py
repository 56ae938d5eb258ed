"""``snekomatic run module:app``: finding anyone's GitHubApp, serving it with the settings' credentials,
and the command's one-line refusals."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest
import trio
from click.testing import CliRunner
from examples.helpdesk.bot import TOPICS
from examples.helpdesk.bot import app as helpdesk

from snekomatic.cli import main
from snekomatic.dev import DevOptions, DevSite, run_dev
from snekomatic.gh.app import GitHubApp, HandlerContext
from snekomatic.gh.testing import generate_private_key
from snekomatic.runtime import (
    Settings,
    StartupError,
    app_bot,
    builtin_bot,
    import_app,
    load_settings,
    open_store,
)
from snekomatic.store import Store

_modules = itertools.count(1)

BOT_SOURCE = """
from snekomatic.gh import GitHubApp

def handler(ctx):
    pass

app = GitHubApp(app_id=999, user_agent="its-own")
app.route("issues", action="opened")(handler)

class Holder:
    app = app
"""


@pytest.fixture
def bot_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module holding ``app`` (a GitHubApp), ``handler`` and ``Holder.app``, in a directory that is
    not on ``sys.path`` (restored afterwards); its name, unique in this process."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    name = f"run_app_test_bot_{next(_modules)}"
    (tmp_path / f"{name}.py").write_text(BOT_SOURCE)
    return name


def test_import_app_finds_the_app_in_the_directory_it_is_given(
    bot_module: str, tmp_path: Path
) -> None:
    app = import_app(f"{bot_module}:app", directory=str(tmp_path))
    assert app is sys.modules[bot_module].app


def test_import_app_follows_a_dotted_attribute(bot_module: str, tmp_path: Path) -> None:
    app = import_app(f"{bot_module}:Holder.app", directory=str(tmp_path))
    assert app is sys.modules[bot_module].app


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        pytest.param("{module}", "is not module:attribute", id="no-colon"),
        pytest.param("{module}:", "is not module:attribute", id="no-attribute"),
        pytest.param(":app", "is not module:attribute", id="no-module"),
        pytest.param("{module}.py:app", "names a file", id="a-file"),
        pytest.param("bots/{module}:app", "names a file", id="a-path"),
        pytest.param(".{module}:app", "must be absolute", id="relative"),
        pytest.param("no_such_bot_module:app", "cannot import no_such_bot_module", id="unknown"),
        pytest.param("{module}.inner:app", "no module named", id="no-submodule"),
        pytest.param("{module}:bot", "has no attribute 'bot' (its GitHubApps: app)", id="missing"),
        pytest.param("{module}:handler", "is a function, not a GitHubApp", id="wrong-type"),
    ],
)
def test_import_app_refuses_with_one_line(
    bot_module: str, tmp_path: Path, reference: str, says: str
) -> None:
    with pytest.raises(StartupError) as refused:
        import_app(reference.format(module=bot_module), directory=str(tmp_path))
    message = str(refused.value)
    assert says in message and "\n" not in message


def test_an_error_raised_by_the_module_itself_propagates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "path", list(sys.path))
    name = f"run_app_test_broken_{next(_modules)}"
    (tmp_path / f"{name}.py").write_text("import a_dependency_nobody_installed\n")
    with pytest.raises(ModuleNotFoundError, match="a_dependency_nobody_installed"):
        import_app(f"{name}:app", directory=str(tmp_path))


# -- the bots a process serves ---------------------------------------------------------------------


@pytest.fixture
def settings_and_store(tmp_path: Path) -> Iterator[tuple[Settings, Store]]:
    settings = load_settings(
        {
            "GITHUB_APP_ID": "17",
            "GITHUB_PRIVATE_KEY": generate_private_key(),
            "GITHUB_WEBHOOK_SECRET": "run-secret",
            "GITHUB_API_URL": "http://127.0.0.1:9",
            "GITHUB_USER_AGENT": "the-settings",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        }
    )
    store = open_store(settings, migrate=True)
    try:
        yield settings, store
    finally:
        store.engine.dispose()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def test_app_bot_serves_the_apps_routes_with_the_settings_credentials(
    settings_and_store: tuple[Settings, Store],
) -> None:
    settings, store = settings_and_store
    routes = GitHubApp(app_id=999, user_agent="its-own", base_url="http://elsewhere")

    @routes.route("issues", action="opened")
    async def handler(ctx: HandlerContext) -> None:
        pass

    bot = app_bot(routes)(settings, store, clock=_now)
    served = bot.app
    assert (served.app_id, served.user_agent, served.base_url) == (
        "17",
        "the-settings",
        "http://127.0.0.1:9",
    )
    assert served.webhook_secrets == [b"run-secret"]
    assert served.may_handle("issues", "opened") and not served.may_handle("pull_request", "closed")
    assert bot.sweeps == ()
    assert (routes.app_id, routes.base_url) == ("999", "http://elsewhere")


def test_the_builtin_bot_routes_the_features_and_sends_deferred_invitations(
    settings_and_store: tuple[Settings, Store],
) -> None:
    settings, store = settings_and_store
    bot = builtin_bot(settings, store, clock=_now)
    assert bot.app.may_handle("pull_request", "closed")
    assert bot.app.may_handle("issue_comment", "created")  # /ping
    assert len(bot.sweeps) == 1


# -- the commands, as processes --------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GITHUB_", "SNEKOMATIC_", "DATABASE_URL", "SENTRY_", "PYTHONPATH"))
    }


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["run", "{module}:handler"], id="run"),
        pytest.param(["worker", "--app", "{module}:handler"], id="worker"),
        pytest.param(["dev", "--app", "{module}:handler", "--port", "0"], id="dev"),
        pytest.param(
            ["replay", "--delivery", "1", "--now", "--app", "{module}:handler"], id="replay-now"
        ),
    ],
)
def test_a_command_refuses_what_is_not_a_github_app_in_one_line_before_anything_else(
    tmp_path: Path, command: list[str]
) -> None:
    # No settings at all: the app is checked first, and nothing is written.
    (tmp_path / "mybot.py").write_text(BOT_SOURCE)
    argv = [sys.executable, "-m", "snekomatic", *(word.format(module="mybot") for word in command)]
    result = subprocess.run(
        argv, cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "snekomatic: mybot:handler is a function, not a GitHubApp (write `handler = GitHubApp()`"
        " and route the handlers on it)"
    ]
    assert [p.name for p in tmp_path.iterdir() if p.name != "__pycache__"] == ["mybot.py"]


def test_run_help_says_how_to_write_the_app() -> None:
    result = CliRunner().invoke(main, ["run", "--help"])
    assert result.exit_code == 0
    assert "module:attribute" in result.output
    assert "app = GitHubApp()" in result.output
    assert "@app.route(" in result.output


# -- snekomatic dev --app, in process ----------------------------------------------------------------


async def test_dev_serves_anyones_app_given_with_app(tmp_path: Path) -> None:
    stop = trio.Event()
    options = DevOptions(
        port=0, fake_port=0, database=tmp_path / "dev.sqlite3", bot=app_bot(helpdesk)
    )
    async with trio.open_nursery() as nursery:
        site: DevSite = await nursery.start(partial(run_dev, options, stop=stop))
        pr = site.world.pulls[site.world.contributors[0].login]

        def bot_comments() -> list[str]:
            return [c.body for c in site.fake.comments_on(pr.repo, pr.number) if c.author is site.fake.bot]

        with trio.fail_after(30):
            async with httpx.AsyncClient(base_url=site.fake_url) as http:
                answer = await http.post(
                    f"/_simulator/api/repos/{pr.repo.full_name}/issues/{pr.number}/comments",
                    json={"author": pr.author.login, "body": "/help tests"},
                )
            assert answer.status_code == 201, answer.text
            await site.wait_until(lambda: bool(bot_comments()))
        stop.set()
    (reply,) = bot_comments()
    assert TOPICS["tests"] in reply
