"""snekomatic.features' public surface, and how it plugs into a GitHubApp."""

from __future__ import annotations

import datetime as dt
import types

import snekomatic.features
from snekomatic.features import FeatureOptions, register_features
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.sansio import Event
from tests.payloads import load_payload


def test_all_lists_exactly_the_public_names() -> None:
    # Submodules appear as attributes once anything imports them: they are not exported names.
    public = {
        name
        for name, value in vars(snekomatic.features).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(snekomatic.features.__all__) == public
    assert set(snekomatic.features.__all__) == {
        "DEFAULT_SOURCE_URL",
        "DEFAULT_WELCOME_TEMPLATE",
        "FeatureOptions",
        "MergeDecision",
        "MissingPermission",
        "explain_merge",
        "register_features",
        "send_deferred_invitations",
    }


def _no_clock() -> dt.datetime:
    raise AssertionError("these tests route events; no handler runs")


def _event(event: str, name: str) -> Event:
    payload = load_payload(event, name)
    return Event(
        event=event,
        action=payload.get("action"),
        delivery_id="d",
        hook_id=None,
        installation_id=1,
        payload=payload,
    )


def test_registered_handlers_answer_merged_pull_requests_and_ping_commands() -> None:
    app = GitHubApp()
    register_features(app, store=None, options=FeatureOptions(), clock=_no_clock)  # type: ignore[arg-type]
    router = app._router
    closed = router.calls_for(_event("pull_request", "closed"))
    opened = router.calls_for(_event("pull_request", "opened"))
    comment = _event("issue_comment", "created")
    comment.payload["comment"]["body"] = "/ping"
    assert [h.__name__ for h, _ in closed] == ["invite_after_merge"]
    assert opened == []
    assert [(h.__name__, c.name if c else None) for h, c in router.calls_for(comment)] == [
        ("reply_to_ping", "/ping")
    ]
