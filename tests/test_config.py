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
