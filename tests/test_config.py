"""Settings: read once, from the given environment only, secrets masked, errors naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from snekomatic.gh.testing import generate_private_key
from snekomatic.runtime import SettingsError, http_limits, load_settings

KEY = generate_private_key()


def test_an_explicit_environment_is_the_only_source(tmp_path: Path) -> None:
    # The process environment and a .env file in the working directory must not leak in.
    (tmp_path / ".env").write_text("GITHUB_APP_ID=99\n")
    code = (
        f"import os; os.chdir({str(tmp_path)!r}); from snekomatic.runtime import load_settings; "
        "print(load_settings({'GITHUB_WEBHOOK_SECRET': 's'}).github_app_id)"
    )
    env = {**os.environ, "GITHUB_APP_ID": "77"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "None"


def test_the_private_key_is_accepted_with_escaped_newlines() -> None:
    escaped = KEY.strip().replace("\n", "\\n")
    settings = load_settings({"GITHUB_PRIVATE_KEY": escaped})
    assert settings.private_key_pem() == KEY.strip()


def test_the_private_key_is_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "app.pem"
    path.write_text(KEY)
    assert load_settings({"GITHUB_PRIVATE_KEY_PATH": str(path)}).private_key_pem() == KEY


def test_several_webhook_secrets_are_accepted_for_rotation() -> None:
    settings = load_settings({"GITHUB_WEBHOOK_SECRET": "new-secret, old-secret"})
    assert settings.webhook_secrets() == [b"new-secret", b"old-secret"]


def test_secrets_never_appear_in_the_settings_repr() -> None:
    settings = load_settings(
        {
            "GITHUB_WEBHOOK_SECRET": "hush-hush-secret",
            "GITHUB_PRIVATE_KEY": KEY,
            "SENTRY_DSN": "https://k@s/1",
        }
    )
    text = repr(settings)
    assert "hush-hush-secret" not in text and KEY.splitlines()[1] not in text and "k@s" not in text


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        pytest.param({"PORT": "eighty"}, "PORT", id="port"),
        pytest.param({"GITHUB_APP_ID": "one"}, "GITHUB_APP_ID", id="app-id"),
        pytest.param({"GITHUB_API_URL": "ftp://example"}, "GITHUB_API_URL", id="api-url"),
        pytest.param({"SNEKOMATIC_BODY_TIMEOUT": "-1"}, "SNEKOMATIC_BODY_TIMEOUT", id="timeout"),
        pytest.param(
            {"SNEKOMATIC_MAX_CONNECTIONS": "0"}, "SNEKOMATIC_MAX_CONNECTIONS", id="connections"
        ),
        pytest.param(
            # Less than one 25 MiB body: no delivery of the largest size could ever be accepted.
            {"SNEKOMATIC_UNVERIFIED_BODY_MIB": "24"},
            "SNEKOMATIC_UNVERIFIED_BODY_MIB",
            id="budget",
        ),
        pytest.param({"DATABASE_URL": "mysql://bot:hunter2@db/bot"}, "DATABASE_URL", id="mysql"),
        pytest.param({"DATABASE_URL": "bot:hunter2@db/bot"}, "DATABASE_URL", id="no-scheme"),
        pytest.param(
            {"DATABASE_URL": "postgresql://bot:hunter2@db:port/bot"}, "DATABASE_URL", id="bad-port"
        ),
        pytest.param({"LOG_LEVEL": "verbose"}, "LOG_LEVEL", id="log-level"),
        pytest.param({"LOG_FORMAT": "xml"}, "LOG_FORMAT", id="log-format"),
    ],
)
def test_a_malformed_setting_is_named_and_its_value_is_not_shown(
    environ: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ)
    assert named in str(info.value)
    assert next(iter(environ.values())) not in str(info.value)


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True), ("false", False)])
def test_per_organization_configuration_is_opt_in(value: str | None, expected: bool) -> None:
    environ = {} if value is None else {"SNEKOMATIC_ORG_CONFIG": value}
    assert load_settings(environ).org_config is expected


def test_the_http_limits_follow_the_settings() -> None:
    settings = load_settings(
        {
            "SNEKOMATIC_BODY_TIMEOUT": "2.5",
            "SNEKOMATIC_MAX_CONNECTIONS": "50",
            "SNEKOMATIC_UNVERIFIED_BODY_MIB": "100",
        }
    )
    limits = http_limits(settings)
    assert (limits.body_timeout, limits.max_connections, limits.unverified_body_bytes) == (
        2.5,
        50,
        100 * 1024 * 1024,
    )


@pytest.mark.parametrize(
    "url",
    [
        "postgres://bot:pw@db.example:5432/bot",
        "postgresql://bot:pw@db.example/bot",
        "postgresql+psycopg://bot@/bot",
        "sqlite:///relative/bot.sqlite3",
        "sqlite:////absolute/bot.sqlite3",
    ],
)
def test_the_database_urls_the_store_can_open_are_accepted(url: str) -> None:
    assert load_settings({"DATABASE_URL": url}).database_url is not None


def test_an_sqlite_url_without_a_file_is_refused() -> None:
    # SQLAlchemy would open an in-memory database, and everything stored would be lost at exit.
    with pytest.raises(SettingsError, match="DATABASE_URL names no SQLite file"):
        load_settings({"DATABASE_URL": "sqlite://"})


@pytest.mark.parametrize(
    ("value", "level"), [("DEBUG", "debug"), (" Warning ", "warning"), ("", "info")]
)
def test_the_log_level_is_read_whatever_its_case_and_blank_is_the_default(
    value: str, level: str
) -> None:
    assert load_settings({"LOG_LEVEL": value}).log_level == level


@pytest.mark.parametrize(
    ("app", "webhooks", "named"),
    [
        pytest.param(
            True,
            True,
            "GITHUB_WEBHOOK_SECRET, GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) "
            "are not set",
            id="serve",
        ),
        pytest.param(
            True,
            False,
            "GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or GITHUB_PRIVATE_KEY_PATH) are not set",
            id="worker",
        ),
        pytest.param(False, True, "GITHUB_WEBHOOK_SECRET is not set", id="receiver-only"),
    ],
)
def test_every_missing_setting_a_command_uses_is_named_in_one_line(
    app: bool, webhooks: bool, named: str
) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings({}).require(app=app, webhooks=webhooks)
    assert str(info.value).startswith(named + ": ")
    assert "\n" not in str(info.value)


def test_a_command_that_receives_no_webhooks_needs_no_webhook_secret() -> None:
    load_settings({"GITHUB_APP_ID": "1", "GITHUB_PRIVATE_KEY": KEY}).require(
        app=True, webhooks=False
    )
