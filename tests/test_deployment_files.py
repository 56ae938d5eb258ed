"""The deployment files say what the bot needs, and agree with the code."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from snekomatic.runtime import Settings

ROOT = Path(__file__).parent.parent


def test_the_app_manifest_asks_for_exactly_the_permissions_and_events_the_bot_needs() -> None:
    manifest = yaml.safe_load((ROOT / "app.yml").read_text())
    assert manifest["default_permissions"] == {
        "pull_requests": "write",
        "issues": "write",
        "members": "write",
    }
    assert sorted(manifest["default_events"]) == ["issue_comment", "issues", "pull_request"]
    assert manifest["public"] is False
    assert manifest["hook_attributes"]["url"].endswith("/webhook/github")


def test_the_procfile_runs_serve_on_the_web_and_separate_workers() -> None:
    lines = dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines())
    assert lines == {"web": "snekomatic serve", "worker": "snekomatic worker"}


def test_every_variable_heroku_asks_for_is_a_setting_the_bot_reads() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    settings_variables = {
        str(field.validation_alias.choices[0])  # type: ignore[union-attr]
        for field in Settings.model_fields.values()
    }
    assert set(app["env"]) <= settings_variables
    assert {"GITHUB_APP_ID", "GITHUB_PRIVATE_KEY", "GITHUB_WEBHOOK_SECRET"} <= set(app["env"])
    assert any("postgresql" in addon["plan"] for addon in app["addons"])
