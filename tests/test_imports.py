"""``snekomatic serve`` loads only what serving needs (issue 10: memory).

Each test builds the serve service in a fresh interpreter, the way ``snekomatic serve`` does (settings,
reporting, the migrated store, the app with its features, the service), and lists the modules loaded.
Not loaded while idle: the fake GitHub (a testing tool), Alembic (only for a database behind the code),
sentry-sdk (only with a DSN), markdown-it (only for a body that may hold a command).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snekomatic.gh.testing import generate_private_key
from snekomatic.store import check_schema, create_store_engine, database_url, upgrade

NOT_FOR_SERVING = ("snekomatic.gh.testing", "alembic", "sentry_sdk", "markdown_it")

_BUILD_SERVE = """
import json, sys
import snekomatic.cli
from snekomatic import runtime

settings = runtime.checked_settings(acts_as_app=True, receives_webhooks=True)
runtime.start_reporting(settings)
store = runtime.open_store(settings, migrate=True)
runtime.bot_service(settings, store, worker_count=4, sweep=True)
from snekomatic.gh.commands import parse_commands
for body in sys.argv[1:]:
    parse_commands(body)
print(json.dumps(sorted(sys.modules)))
"""


@pytest.fixture(scope="module")
def private_key() -> str:
    return generate_private_key()


def loaded_by_serve(database: str, private_key: str, *bodies: str, **environ: str) -> set[str]:
    """The modules loaded once a serve service is built for ``database`` (and ``bodies`` parsed)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("GITHUB_", "SNEKOMATIC_", "SENTRY_", "DATABASE_URL"))
    }
    env.update(
        GITHUB_APP_ID="1",
        GITHUB_PRIVATE_KEY=private_key,
        GITHUB_WEBHOOK_SECRET="imports-test-secret",
        DATABASE_URL=database,
        LOG_LEVEL="warning",
        **environ,
    )
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_SERVE, *bodies],
        env=env,
        cwd=Path(database.removeprefix("sqlite:///")).parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def loaded(modules: set[str], package: str) -> bool:
    return any(name == package or name.startswith(f"{package}.") for name in modules)


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> str:
    url = database_url(None, default_sqlite_path=str(tmp_path / "snekomatic.sqlite3"))
    engine = create_store_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def test_an_idle_serve_loads_nothing_it_does_not_need(
    migrated_sqlite: str, private_key: str
) -> None:
    modules = loaded_by_serve(migrated_sqlite, private_key)

    assert {package for package in NOT_FOR_SERVING if loaded(modules, package)} == set()
    assert loaded(modules, "snekomatic.runtime._web")  # it did build the service


def test_sentry_sdk_is_loaded_when_there_is_a_dsn(migrated_sqlite: str, private_key: str) -> None:
    modules = loaded_by_serve(
        migrated_sqlite, private_key, SENTRY_DSN="https://public@sentry.example/1"
    )

    assert loaded(modules, "sentry_sdk")


def test_a_database_behind_the_code_is_migrated_with_alembic(
    tmp_path: Path, private_key: str
) -> None:
    empty = database_url(None, default_sqlite_path=str(tmp_path / "empty.sqlite3"))

    modules = loaded_by_serve(empty, private_key)

    assert loaded(modules, "alembic")
    engine = create_store_engine(empty)
    check_schema(engine)  # at head, with every table
    engine.dispose()


def test_markdown_it_is_loaded_for_a_body_that_may_hold_a_command(
    migrated_sqlite: str, private_key: str
) -> None:
    without = loaded_by_serve(migrated_sqlite, private_key, "Thanks! See https://example.com/a/b")
    with_command = loaded_by_serve(migrated_sqlite, private_key, "Thanks!\n/ping")

    assert not loaded(without, "markdown_it")
    assert loaded(with_command, "markdown_it")


def test_dev_commands_default_database_is_devs() -> None:
    # snekomatic.cli keeps its own copy, so as not to import the fake GitHub with the command line.
    from snekomatic import dev
    from snekomatic.cli import _dev

    assert _dev.DEFAULT_DATABASE == dev.DEFAULT_DATABASE
