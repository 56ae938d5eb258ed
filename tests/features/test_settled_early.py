"""Deliveries stored already settled: only those no handler of the bot's would act on (issue 10).

``GitHubApp.may_handle`` judges from the event and action alone, before the payload is decoded. Every
payload example goes through both paths: where it says no, routing the whole event calls nothing,
even with a ``/ping`` line put in every body a command could be read from.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from snekomatic.features import FeatureOptions, register_features
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.sansio import Event
from tests.payloads import PAYLOAD_EXAMPLES

EXAMPLES = sorted(PAYLOAD_EXAMPLES.rglob("*.json"))


def _no_clock() -> dt.datetime:
    raise AssertionError("these tests route events; no handler runs")


@pytest.fixture(scope="module", params=[False, True], ids=["default", "org-config"])
def app(request: pytest.FixtureRequest) -> GitHubApp:
    app = GitHubApp()
    options = FeatureOptions(org_config=request.param)  # org_config routes push events too
    register_features(app, store=None, options=options, clock=_no_clock)  # type: ignore[arg-type]
    return app


def with_ping_everywhere(payload: dict[str, Any]) -> dict[str, Any]:
    changed = json.loads(json.dumps(payload))
    for value in changed.values():
        if isinstance(value, dict) and "body" in value:
            value["body"] = f"{value['body'] or ''}\n/ping\n"
    return changed


@pytest.mark.parametrize(
    "path", EXAMPLES, ids=[str(p.relative_to(PAYLOAD_EXAMPLES)) for p in EXAMPLES]
)
def test_nothing_a_handler_acts_on_is_settled_early(app: GitHubApp, path: Path) -> None:
    name = path.parent.name
    for payload in (
        json.loads(path.read_bytes()),
        with_ping_everywhere(json.loads(path.read_bytes())),
    ):
        action = payload.get("action") if isinstance(payload.get("action"), str) else None
        event = Event(
            event=name,
            action=action,
            delivery_id="d",
            hook_id=None,
            installation_id=1,
            payload=payload,
        )
        if not app.may_handle(name, action):
            assert app._router.calls_for(event) == []


def test_most_deliveries_are_settled_early_and_the_acted_on_ones_are_not(app: GitHubApp) -> None:
    assert app.may_handle("pull_request", "closed")
    assert app.may_handle("issue_comment", "created")
    assert app.may_handle("issues", "opened")
    assert not app.may_handle("pull_request", "labeled")
    assert not app.may_handle("check_run", "completed")
    assert not app.may_handle("ping", None)
    events = {(p.parent.name, json.loads(p.read_bytes()).get("action")) for p in EXAMPLES}
    assert sum(
        not app.may_handle(e, a if isinstance(a, str) else None) for e, a in events
    ) > 0.8 * len(events)
