"""snekomatic.gh._routing: which handlers an event reaches, in what order, and how failures surface."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
import trio
import trio.testing

import snekomatic.gh
from snekomatic.gh._routing import (
    CommandLimit,
    CommandLimiter,
    HandlerContext,
    NoInstallation,
    Router,
)
from snekomatic.gh.app import GitHubApp
from snekomatic.gh.client import GitHubClient
from snekomatic.gh.commands import Command
from snekomatic.gh.errors import GitHubError
from snekomatic.gh.sansio import Event
from tests.payloads import load_payload


def offline_app() -> GitHubApp:
    """A GitHubApp that never needs the network here: handlers below make no requests."""
    return GitHubApp(
        app_id=1, user_agent="snekomatic-tests", base_url="http://github.local"
    )


def make_event(
    name: str, payload: dict[str, Any], *, installation_id: int | None = 7, delivery_id: str = "d-1"
) -> Event:
    action = payload.get("action")
    return Event(
        event=name,
        action=action if isinstance(action, str) else None,
        delivery_id=delivery_id,
        hook_id=1,
        installation_id=installation_id,
        payload=payload,
    )


def example(
    event: str,
    name: str,
    *,
    body: str | None = "",
    key: str | None = None,
    action: str | None = None,
) -> Event:
    """A real octokit payload example, with the Markdown body at ``payload[key]["body"]`` replaced.

    ``action`` overrides the example's action, for actions octokit has no example of.
    """
    payload = copy.deepcopy(load_payload(event, name))
    if action is not None:
        payload["action"] = action
    if key is not None:
        payload[key]["body"] = body
    return make_event(event, payload)


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, HandlerContext]] = []

    def handler(self, label: str, *, fail: Exception | None = None) -> Any:
        async def handle(ctx: HandlerContext) -> None:
            await trio.lowlevel.checkpoint()
            self.calls.append((label, ctx))
            if fail is not None:
                raise fail

        return handle

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.calls]


async def dispatch(router: Router, event: Event) -> None:
    with trio.fail_after(10):
        await router.dispatch(event, offline_app())


async def test_handlers_run_in_registration_order() -> None:
    router, seen = Router(), Recorder()
    router.route("pull_request")(seen.handler("first"))
    router.route("*")(seen.handler("catch-all"))
    router.route("pull_request", action="closed")(seen.handler("closed"))
    await dispatch(router, make_event("pull_request", {"action": "closed"}))
    assert seen.labels == ["first", "catch-all", "closed"]


async def test_route_for_another_event_does_not_run() -> None:
    router, seen = Router(), Recorder()
    router.route("issues")(seen.handler("issues"))
    await dispatch(router, make_event("pull_request", {"action": "closed"}))
    assert seen.labels == []


@pytest.mark.parametrize(
    ("restrictions", "runs"),
    [
        pytest.param({"action": "closed"}, True, id="equal"),
        pytest.param({"action": "opened"}, False, id="different"),
        pytest.param({"action": "closed", "number": 5}, True, id="all-equal"),
        pytest.param({"action": "closed", "number": 6}, False, id="one-different"),
        pytest.param({"missing": None}, False, id="missing-field-is-not-none"),
    ],
)
async def test_restrictions_match_top_level_fields_by_equality(
    restrictions: dict[str, Any], runs: bool
) -> None:
    router, seen = Router(), Recorder()
    router.route("pull_request", **restrictions)(seen.handler("restricted"))
    await dispatch(router, make_event("pull_request", {"action": "closed", "number": 5}))
    assert seen.labels == (["restricted"] if runs else [])


async def test_catch_all_with_restriction_sees_every_event_with_that_field() -> None:
    router, seen = Router(), Recorder()
    router.route("*", action="created")(seen.handler("created"))
    await dispatch(router, make_event("issue_comment", {"action": "created"}))
    await dispatch(router, make_event("label", {"action": "created"}))
    await dispatch(router, make_event("label", {"action": "deleted"}))
    assert [ctx.event_name for _, ctx in seen.calls] == ["issue_comment", "label"]


async def test_route_returns_the_handler_unchanged() -> None:
    router = Router()

    async def handler(ctx: HandlerContext) -> None:
        pass

    assert router.route("push")(handler) is handler
    assert router.route_command("/ping")(handler) is handler


async def test_one_failure_does_not_stop_the_others_and_all_are_raised_together() -> None:
    router, seen = Router(), Recorder()
    router.route("push")(seen.handler("a", fail=ValueError("first")))
    router.route("push")(seen.handler("b"))
    router.route("push")(seen.handler("c", fail=KeyError("second")))
    with pytest.raises(ExceptionGroup) as caught:
        await dispatch(router, make_event("push", {}))
    assert seen.labels == ["a", "b", "c"]
    assert [type(e) for e in caught.value.exceptions] == [ValueError, KeyError]


async def test_single_failure_is_still_a_group() -> None:
    router, seen = Router(), Recorder()
    router.route("push")(seen.handler("a", fail=ValueError("only")))
    with pytest.raises(ExceptionGroup) as caught:
        await dispatch(router, make_event("push", {}))
    assert caught.value.subgroup(ValueError) is not None


async def test_cancellation_is_not_collected_and_stops_later_handlers() -> None:
    router, seen = Router(), Recorder()

    async def hang(ctx: HandlerContext) -> None:
        await trio.sleep_forever()

    router.route("push")(hang)
    router.route("push")(seen.handler("after"))
    with trio.move_on_after(1) as scope:
        await router.dispatch(make_event("push", {}), offline_app())
    assert scope.cancelled_caught
    assert seen.labels == []


async def test_nothing_matching_is_fine() -> None:
    await dispatch(Router(), make_event("push", {}))


def test_empty_event_name_is_refused() -> None:
    with pytest.raises(ValueError, match="'\\*'"):
        Router().route("")


@pytest.mark.parametrize("name", ["ping", "/", "/a b", "/a/b"])
def test_bad_command_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="slash command"):
        Router().route_command(name)


async def test_context_exposes_the_event() -> None:
    router, seen = Router(), Recorder()
    router.route("pull_request")(seen.handler("h"))
    event = make_event("pull_request", {"action": "closed"}, installation_id=99, delivery_id="abc")
    await dispatch(router, event)
    ctx = seen.calls[0][1]
    assert (ctx.event_name, ctx.action, ctx.delivery_id, ctx.installation_id, ctx.payload) == (
        "pull_request",
        "closed",
        "abc",
        99,
        {"action": "closed"},
    )
    assert ctx.command is None


async def test_context_client_is_the_installations_made_once() -> None:
    router, seen = Router(), Recorder()
    router.route("push")(seen.handler("h"))
    await dispatch(router, make_event("push", {}, installation_id=99))
    ctx = seen.calls[0][1]
    assert isinstance(ctx.client, GitHubClient)
    assert ctx.client is ctx.client


async def test_context_client_without_installation_raises() -> None:
    router, seen = Router(), Recorder()
    router.route("ping")(seen.handler("h"))
    await dispatch(router, make_event("ping", {"zen": "hi"}, installation_id=None))
    with pytest.raises(NoInstallation, match="ping delivery d-1"):
        _ = seen.calls[0][1].client


def test_no_installation_is_a_github_error_and_still_a_lookup_error() -> None:
    assert issubclass(NoInstallation, GitHubError)
    assert issubclass(NoInstallation, LookupError)
    assert snekomatic.gh.NoInstallation is NoInstallation


# --- slash commands ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "example_name", "key", "action"),
    [
        pytest.param("issues", "opened", "issue", None, id="issue-opened"),
        pytest.param("issues", "edited", "issue", None, id="issue-edited"),
        pytest.param("pull_request", "opened", "pull_request", None, id="pr-opened"),
        pytest.param("pull_request", "opened", "pull_request", "edited", id="pr-edited"),
        pytest.param("issue_comment", "created", "comment", None, id="comment-created"),
        pytest.param("issue_comment", "edited", "comment", None, id="comment-edited"),
        pytest.param("pull_request_review", "submitted", "review", None, id="review-submitted"),
        pytest.param("pull_request_review", "submitted", "review", "edited", id="review-edited"),
        pytest.param(
            "pull_request_review_comment", "created", "comment", None, id="review-comment-created"
        ),
    ],
)
async def test_command_handler_runs_for_bodies_that_carry_commands(
    event: str, example_name: str, key: str, action: str | None
) -> None:
    router, seen = Router(), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    body = "Hi!\n\n/ping now"
    await dispatch(router, example(event, example_name, key=key, body=body, action=action))
    assert [ctx.command for _, ctx in seen.calls] == [
        Command(name="/ping", args=("now",), line="/ping now")
    ]


@pytest.mark.parametrize(
    ("event", "example_name", "key"),
    [
        pytest.param("issue_comment", "deleted", "comment", id="comment-deleted"),
        pytest.param("pull_request", "closed", "pull_request", id="pr-closed"),
        pytest.param(
            "pull_request_review_comment", "edited", "comment", id="review-comment-edited"
        ),
        pytest.param("pull_request_review", "dismissed", "review", id="review-dismissed"),
    ],
)
async def test_command_handler_ignores_other_actions(
    event: str, example_name: str, key: str
) -> None:
    router, seen = Router(), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    await dispatch(router, example(event, example_name, key=key, body="/ping"))
    assert seen.labels == []


async def test_a_repeated_command_runs_its_handler_once_with_every_occurrence() -> None:
    router, seen = Router(), Recorder()
    router.route_command("/label")(seen.handler("label"))
    body = "/label bug\n/ping\n/label docs"
    await dispatch(router, example("issue_comment", "created", key="comment", body=body))
    [(_, ctx)] = seen.calls
    assert ctx.command == Command(name="/label", args=("bug",), line="/label bug")
    assert [command.args for command in ctx.commands] == [("bug",), ("docs",)]


async def test_a_body_of_300_ping_lines_gets_one_handler_run() -> None:
    # Each run costs API calls: one per line let anyone who can comment tie up a worker for hours.
    router, seen = Router(), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    router.route_command("/label")(seen.handler("label"))
    body = "\n".join(["/ping"] * 300 + ["/label x"] * 300)
    await dispatch(router, example("issue_comment", "created", key="comment", body=body))
    assert seen.labels == ["ping", "label"]
    assert [len(ctx.commands) for _, ctx in seen.calls] == [300, 300]


async def test_unknown_and_quoted_commands_are_ignored() -> None:
    router, seen = Router(), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    body = "/pong\n\n> /ping\n\n```\n/ping\n```"
    await dispatch(router, example("issue_comment", "created", key="comment", body=body))
    assert seen.labels == []


@pytest.mark.parametrize(
    ("event", "example_name"),
    [
        pytest.param("pull_request", "opened.with-null-body", id="pr-null-body"),
        pytest.param("issues", "opened.with-empty-body", id="issue-empty-body"),
    ],
)
async def test_empty_bodies_carry_no_commands(event: str, example_name: str) -> None:
    router, seen = Router(), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    router.route(event)(seen.handler("plain"))
    await dispatch(router, example(event, example_name))
    assert seen.labels == ["plain"]


async def test_commands_and_routes_interleave_in_registration_order() -> None:
    router, seen = Router(), Recorder()
    router.route("issue_comment")(seen.handler("route-1"))
    router.route_command("/ping")(seen.handler("ping"))
    router.route("*")(seen.handler("route-2"))
    await dispatch(router, example("issue_comment", "created", key="comment", body="/ping"))
    assert seen.labels == ["route-1", "ping", "route-2"]


# --- the command rate limit -----------------------------------------------------------------------


def comment_by(
    login: str, body: str = "/ping", *, installation_id: int = 7, delivery_id: str = "d-1"
) -> Event:
    payload = copy.deepcopy(load_payload("issue_comment", "created"))
    payload["comment"]["body"] = body
    payload["sender"]["login"] = login
    return make_event(
        "issue_comment", payload, installation_id=installation_id, delivery_id=delivery_id
    )


LIMIT = CommandLimit(burst=2, refill_seconds=10)


async def test_a_senders_commands_over_the_limit_are_skipped_with_one_log_line(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    router, seen = Router(command_limit=LIMIT), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    caplog.set_level(logging.INFO, logger="snekomatic.gh.routing")
    for index in range(5):
        await dispatch(router, comment_by("mallory", delivery_id=f"d-{index}"))  # raises nothing
    assert seen.labels == ["ping", "ping"]
    skipped = [r.getMessage() for r in caplog.records if r.name == "snekomatic.gh.routing"]
    assert len(skipped) == 3
    assert all("/ping" in line and "mallory" in line and "over" in line for line in skipped)


async def test_the_limit_refills_with_time(autojump_clock: trio.testing.MockClock) -> None:
    router, seen = Router(command_limit=LIMIT), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    for _ in range(3):
        await dispatch(router, comment_by("mallory"))
    await trio.sleep(10)  # one token back
    for _ in range(2):
        await dispatch(router, comment_by("mallory"))
    assert seen.labels == ["ping"] * 3


async def test_the_limit_is_per_sender_and_per_installation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    router, seen = Router(command_limit=CommandLimit(burst=1, refill_seconds=60)), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    for event in [
        comment_by("mallory"),
        comment_by("mallory"),
        comment_by("alice"),
        comment_by("mallory", installation_id=8),
    ]:
        await dispatch(router, event)
    assert [ctx.event.payload["sender"]["login"] for _, ctx in seen.calls] == [
        "mallory",
        "alice",
        "mallory",
    ]
    assert [ctx.installation_id for _, ctx in seen.calls] == [7, 7, 8]


async def test_routes_other_than_commands_are_never_limited(
    autojump_clock: trio.testing.MockClock,
) -> None:
    router, seen = Router(command_limit=CommandLimit(burst=1, refill_seconds=60)), Recorder()
    router.route("issue_comment")(seen.handler("route"))
    router.route_command("/ping")(seen.handler("ping"))
    for _ in range(3):
        await dispatch(router, comment_by("mallory"))
    assert seen.labels == ["route", "ping", "route", "route"]


async def test_no_limit_when_the_router_is_told_so(autojump_clock: trio.testing.MockClock) -> None:
    router, seen = Router(command_limit=None), Recorder()
    router.route_command("/ping")(seen.handler("ping"))
    for _ in range(20):
        await dispatch(router, comment_by("mallory"))
    assert len(seen.labels) == 20


def test_a_bucket_allows_a_burst_then_one_per_refill() -> None:
    limiter = CommandLimiter(CommandLimit(burst=3, refill_seconds=5))
    at_once = [limiter.try_acquire("k", 100.0) for _ in range(4)]
    assert at_once == [True, True, True, False]
    assert [limiter.try_acquire("k", t) for t in (104.0, 105.0, 105.0)] == [False, True, False]
    assert limiter.try_acquire("k", 1000.0)  # refilled, never beyond the burst
    assert [limiter.try_acquire("k", 1000.0) for _ in range(3)] == [True, True, False]


def test_a_clock_going_backwards_refills_nothing() -> None:
    limiter = CommandLimiter(CommandLimit(burst=1, refill_seconds=5))
    assert limiter.try_acquire("k", 100.0)
    assert not limiter.try_acquire("k", 50.0)


def test_the_limiter_forgets_senders_beyond_its_bound() -> None:
    limiter = CommandLimiter(CommandLimit(burst=1, refill_seconds=60, max_senders=100))
    for index in range(1000):
        limiter.try_acquire(("installation", index), float(index))
    assert len(limiter._buckets) <= 100
    assert not limiter.try_acquire(("installation", 999), 999.0)  # the most recent is kept


@pytest.mark.parametrize(
    "limit",
    [{"burst": 0}, {"refill_seconds": 0}, {"max_senders": 0}],
    ids=["no-burst", "no-refill", "no-senders"],
)
def test_an_unusable_limit_is_refused(limit: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="CommandLimit"):
        CommandLimit(**limit)


async def _nothing(ctx: HandlerContext) -> None:
    pass


def test_may_handle_judges_from_event_and_action_and_errs_towards_yes() -> None:
    router = Router()
    assert not router.may_handle("pull_request", "closed")  # no routes, nothing runs
    router.route("pull_request", action="closed")(_nothing)
    assert router.may_handle("pull_request", "closed")
    assert not router.may_handle("pull_request", "opened")
    assert not router.may_handle("issues", "closed")
    router.route("issues", sender={"login": "x"})(_nothing)  # needs the payload: counted as handled
    assert router.may_handle("issues", "labeled")
    router.route_command("/ping")(_nothing)
    assert router.may_handle("issue_comment", "created")
    assert not router.may_handle("issue_comment", "deleted")
    everything = Router()
    everything.route("*")(_nothing)
    assert everything.may_handle("check_run", None)


# --- one app's routes served by another (GitHubApp.replace, Router.include) -----------------------


async def test_a_replaced_app_runs_the_originals_routes_and_commands_in_order() -> None:
    original, seen = GitHubApp(), Recorder()
    original.route("issue_comment")(seen.handler("route"))
    original.route_command("/ping")(seen.handler("ping"))
    served = original.replace(app_id=1, user_agent="served", base_url="http://github.local")
    with trio.fail_after(10):
        await served.dispatch(example("issue_comment", "created", key="comment", body="/ping"))
    assert seen.labels == ["route", "ping"]
    assert all(ctx.app is served for _, ctx in seen.calls)


def test_replace_changes_only_what_it_is_given() -> None:
    original = GitHubApp(app_id=5, user_agent="mine", base_url="http://github.local")
    served = original.replace(app_id=6, base_url="http://other.local")
    assert (served.app_id, served.user_agent, served.base_url) == ("6", "mine", "http://other.local")
    assert (original.app_id, original.base_url) == ("5", "http://github.local")


async def test_routes_added_after_replace_stay_on_their_own_app() -> None:
    original, seen = GitHubApp(), Recorder()
    original.route("issues")(seen.handler("before"))
    served = original.replace(app_id=1, user_agent="served")
    original.route("issues")(seen.handler("on-original"))
    served.route("issues")(seen.handler("on-served"))
    with trio.fail_after(10):
        await served.dispatch(make_event("issues", {"action": "opened"}))
    assert seen.labels == ["before", "on-served"]


async def test_a_replaced_app_keeps_the_originals_command_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    original = GitHubApp(command_limit=CommandLimit(burst=1, refill_seconds=60))
    seen = Recorder()
    original.route_command("/ping")(seen.handler("ping"))
    served = original.replace(app_id=1, user_agent="served")
    for _ in range(3):
        await served.dispatch(comment_by("mallory"))
    assert seen.labels == ["ping"]


def test_replace_refuses_an_argument_the_constructor_does_not_take() -> None:
    with pytest.raises(TypeError):
        GitHubApp().replace(app_idd=5)
