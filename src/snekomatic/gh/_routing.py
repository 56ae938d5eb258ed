"""Routing webhook events to handlers: ``route``, ``route_command`` and ``dispatch``.

Handlers are ``async def handler(ctx: HandlerContext) -> None``. They run one after another in the order
they were registered; a failing handler does not stop the ones after it, and all failures are raised
together at the end as one ``ExceptionGroup``.

Slash commands are written by anyone who can comment, so their cost is bounded: a command handler runs
at most once per event for its command however many lines repeat it, and each sender's commands are
rate-limited per installation (:class:`CommandLimit`), so that one person's comments can never keep
workers and the installation's API quota from the other handlers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar, final

import anyio

from snekomatic.gh.commands import Command, is_command_name, parse_commands
from snekomatic.gh.errors import NoInstallation

if TYPE_CHECKING:
    from snekomatic.gh.client import GitHubClient
    from snekomatic.gh.sansio import Event

__all__ = [
    "ANY_EVENT",
    "COMMAND_SOURCES",
    "DEFAULT_COMMAND_LIMIT",
    "AppClients",
    "CommandLimit",
    "CommandLimiter",
    "Handler",
    "HandlerContext",
    "NoInstallation",
    "Router",
]

_log = logging.getLogger("snekomatic.gh.routing")

#: The event name that routes every event (restrictions still apply).
ANY_EVENT: Final = "*"

#: Where slash commands are read from: (event, action) -> the payload key whose ``body`` holds Markdown.
COMMAND_SOURCES: Final[Mapping[tuple[str, str], str]] = {
    ("issues", "opened"): "issue",
    ("issues", "edited"): "issue",
    ("pull_request", "opened"): "pull_request",
    ("pull_request", "edited"): "pull_request",
    ("issue_comment", "created"): "comment",
    ("issue_comment", "edited"): "comment",
    ("pull_request_review", "submitted"): "review",
    ("pull_request_review", "edited"): "review",
    ("pull_request_review_comment", "created"): "comment",
}


@dataclass(frozen=True, kw_only=True)
class CommandLimit:
    """How many slash commands of one sender a :class:`Router` answers, per installation.

    A token bucket: ``burst`` commands at once, then one more every ``refill_seconds``. A command over
    the limit is skipped (one INFO line on the ``snekomatic.gh.routing`` logger) and never retried.
    ``max_senders`` bounds the memory: beyond it, full buckets are forgotten first, then the least
    recently used. The default, 5 at once and one every 12 s, never slows a person who types
    commands by hand.
    """

    burst: int = 5
    refill_seconds: float = 12.0
    max_senders: int = 10_000

    def __post_init__(self) -> None:
        if self.burst < 1 or self.refill_seconds <= 0 or self.max_senders < 1:
            raise ValueError("CommandLimit needs burst >= 1, refill_seconds > 0, max_senders >= 1")


#: What :class:`~snekomatic.gh.app.GitHubApp` uses unless told otherwise.
DEFAULT_COMMAND_LIMIT: Final = CommandLimit()


@final
class CommandLimiter:
    """The token buckets of a :class:`CommandLimit`, one per key. Pure: the caller passes ``now``.

    State lives in this object, so in memory and per process: with several processes, a sender
    gets at most that many times the limit, which still bounds the work one person can cause.
    """

    def __init__(self, limit: CommandLimit) -> None:
        self.limit = limit
        self._buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, as of when)

    def try_acquire(self, key: Hashable, now: float) -> bool:
        """Take one token from ``key``'s bucket at time ``now`` (seconds, monotonic); False if empty."""
        tokens = self._tokens(key, now)
        allowed = tokens >= 1
        self._buckets.pop(key, None)  # re-inserted last: the dict's order is least recently used
        self._buckets[key] = (tokens - 1 if allowed else tokens, now)
        if len(self._buckets) > self.limit.max_senders:
            self._forget(now)
        return allowed

    def _tokens(self, key: Hashable, now: float) -> float:
        tokens, then = self._buckets.get(key, (float(self.limit.burst), now))
        refilled = tokens + max(now - then, 0.0) / self.limit.refill_seconds
        return min(float(self.limit.burst), refilled)

    def _forget(self, now: float) -> None:
        full = [key for key in self._buckets if self._tokens(key, now) >= self.limit.burst]
        for key in full:  # a full bucket is the same as none
            del self._buckets[key]
        while len(self._buckets) > self.limit.max_senders:
            del self._buckets[next(iter(self._buckets))]


class AppClients(Protocol):
    """What a :class:`Router` needs of the app it dispatches for: its clients.

    :class:`~snekomatic.gh.app.GitHubApp` is one; a test may pass any object with these two members.
    """

    @property
    def app_client(self) -> GitHubClient:
        """The client that authenticates as the app."""
        ...

    def client_for(self, installation_id: int | str) -> GitHubClient:
        """A client that authenticates as the installation ``installation_id``."""
        ...


@dataclass(frozen=True, kw_only=True)
class HandlerContext:
    """Everything a handler gets: the event, the app, and (for command handlers) the command.

    ``command`` is the first line holding the handler's command in the body, and ``commands`` every
    such line, in order (``()`` for other handlers): a command handler runs once per event.

    ``client`` is the installation's :class:`~snekomatic.gh.client.GitHubClient`, made on first use and
    then kept for this context; it raises :class:`~snekomatic.gh.errors.NoInstallation` when the event
    carries no installation id (``ping`` and other app-level events): use ``ctx.app.app_client`` there.
    ``app`` is the app that dispatched the event (a :class:`~snekomatic.gh.app.GitHubApp`), typed by
    what a handler needs of it (:class:`AppClients`).
    """

    event: Event
    app: AppClients
    command: Command | None = None
    commands: tuple[Command, ...] = ()

    @cached_property
    def client(self) -> GitHubClient:
        """The installation's client. Raises :class:`NoInstallation` if the event names none."""
        if self.event.installation_id is None:
            raise NoInstallation(
                f"{self.event.event} delivery {self.event.delivery_id} has no installation id"
            )
        return self.app.client_for(self.event.installation_id)

    @property
    def event_name(self) -> str:
        """``X-GitHub-Event``, e.g. ``"pull_request"``."""
        return self.event.event

    @property
    def action(self) -> str | None:
        """The payload's ``action``, or None."""
        return self.event.action

    @property
    def payload(self) -> dict[str, Any]:
        """The decoded webhook payload."""
        return self.event.payload

    @property
    def delivery_id(self) -> str:
        """``X-GitHub-Delivery``: the same on redelivery, so it identifies the delivery."""
        return self.event.delivery_id

    @property
    def installation_id(self) -> int | None:
        """The installation the event is about, or None."""
        return self.event.installation_id


Handler = Callable[[HandlerContext], Awaitable[None]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class _Route:
    event: str
    restrictions: Mapping[str, Any]
    handler: Handler
    command: str | None = None

    def matches(self, event: Event) -> bool:
        if self.event not in (ANY_EVENT, event.event):
            return False
        missing = object()
        return all(
            event.payload.get(name, missing) == value for name, value in self.restrictions.items()
        )


@final
class Router:
    """An ordered list of routes. :class:`~snekomatic.gh.app.GitHubApp` holds one."""

    def __init__(self, *, command_limit: CommandLimit | None = DEFAULT_COMMAND_LIMIT) -> None:
        """``command_limit``: the rate limit of each sender's commands; None for no limit."""
        self._routes: list[_Route] = []
        self._limiter = None if command_limit is None else CommandLimiter(command_limit)

    def route(self, event: str, **restrictions: Any) -> Callable[[H], H]:
        """Register the decorated handler for ``event`` (``"*"``: every event).

        Each keyword restricts it to payloads whose top-level field of that name equals the value:
        ``route("pull_request", action="closed")``. Returns the handler unchanged. Raises ``ValueError``
        for an empty event name.
        """
        if not event:
            raise ValueError("an event name is required; use '*' for every event")
        frozen = dict(restrictions)

        def register(handler: H) -> H:
            self._routes.append(_Route(event, frozen, handler))
            return handler

        return register

    def route_command(self, command: str) -> Callable[[H], H]:
        """Register the decorated handler for the slash command ``command`` (``"/ping"``).

        It runs when the Markdown body of an issue or pull request (opened, edited), an issue comment
        (created, edited), a review (submitted, edited) or a review comment (created) holds the
        command: once per event, however many lines repeat it (a body of 300 ``/ping`` lines gets one
        answer), with ``ctx.command`` the first such line and ``ctx.commands`` all of them. It is
        skipped when the event's sender (``payload["sender"]["login"]``) is over the router's
        :class:`CommandLimit` for the event's installation. See :data:`COMMAND_SOURCES` and
        :func:`~snekomatic.gh.commands.parse_commands`. Names are case-sensitive. Raises ``ValueError``
        when ``command`` is not a ``/`` followed by letters, digits, ``-`` or ``_``.
        """
        if not is_command_name(command):
            raise ValueError(f"not a slash command name: {command!r} (expected e.g. '/ping')")

        def register(handler: H) -> H:
            self._routes.append(_Route(ANY_EVENT, {}, handler, command))
            return handler

        return register

    def include(self, other: Router) -> None:
        """Append ``other``'s routes and command routes, in their order, after this router's own.

        The handlers and their restrictions are shared, not copied; routes added to ``other`` later
        are not included, and this router keeps its own :class:`CommandLimit` and buckets. Pure.
        """
        self._routes.extend(other._routes)

    def may_handle(self, event: str, action: str | None) -> bool:
        """Whether a delivery of ``event`` with ``action`` could make any handler run, judged from
        those two alone (a receiver storing deliveries can settle the others at once). Pure.

        Conservative: a route whose other restrictions need the payload counts as handling it, and
        so does a command route for every (event, action) of :data:`COMMAND_SOURCES`. False only
        when :meth:`dispatch` would certainly call nothing.
        """
        for route in self._routes:
            if route.command is not None:
                if (event, action) in COMMAND_SOURCES:
                    return True
                continue
            if route.event not in (ANY_EVENT, event):
                continue
            if "action" in route.restrictions and route.restrictions["action"] != action:
                continue
            return True
        return False

    def calls_for(self, event: Event) -> list[tuple[Handler, Command | None]]:
        """The handler calls ``event`` triggers, in order: ``(handler, first command or None)``.

        Before the command rate limit, which :meth:`dispatch` applies. Pure."""
        return [
            (handler, commands[0] if commands else None) for handler, commands in self._calls(event)
        ]

    def _calls(self, event: Event) -> list[tuple[Handler, tuple[Command, ...]]]:
        commands = _commands_in(event)
        calls: list[tuple[Handler, tuple[Command, ...]]] = []
        for route in self._routes:
            if route.command is None:
                if route.matches(event):
                    calls.append((route.handler, ()))
                continue
            occurrences = tuple(command for command in commands if command.name == route.command)
            if occurrences:
                calls.append((route.handler, occurrences))
        return calls

    async def dispatch(self, event: Event, app: AppClients) -> None:
        """Run every handler matching ``event``, one after another in registration order, each with a
        :class:`HandlerContext` whose ``app`` is ``app``.

        A handler raising an ``Exception`` does not stop the others; once all have run, the failures
        are raised together as an ``ExceptionGroup`` (even when there is only one). Nothing matching is
        not an error. A command handler over the sender's :class:`CommandLimit` is skipped, with one
        INFO log line (the limit is read on anyio's clock). A checkpoint only if a handler is.
        Cancellation (a ``BaseException``) is never caught: it stops the remaining handlers and
        propagates at once.
        """
        failures: list[Exception] = []
        for handler, commands in self._calls(event):
            if commands and not self._within_limit(event, commands[0]):
                continue
            context = HandlerContext(
                event=event,
                app=app,
                command=commands[0] if commands else None,
                commands=commands,
            )
            try:
                await handler(context)
            except Exception as exc:  # noqa: BLE001 - the documented boundary: collected, re-raised below
                failures.append(exc)
        if failures:
            raise ExceptionGroup(
                f"{len(failures)} handler(s) failed for {event.event} delivery {event.delivery_id}",
                failures,
            )

    def _within_limit(self, event: Event, command: Command) -> bool:
        if self._limiter is None:
            return True
        sender = _sender_login(event)
        if self._limiter.try_acquire((event.installation_id, sender), anyio.current_time()):
            return True
        _log.info(
            "command %s skipped: sender %s is over the command rate limit of installation %s"
            " (delivery %s)",
            command.name,
            sender,
            event.installation_id,
            event.delivery_id,
        )
        return False


def _sender_login(event: Event) -> str | None:
    sender = event.payload.get("sender")
    login = sender.get("login") if isinstance(sender, dict) else None
    return login if isinstance(login, str) else None


def _commands_in(event: Event) -> list[Command]:
    if event.action is None:
        return []
    key = COMMAND_SOURCES.get((event.event, event.action))
    if key is None:
        return []
    container = event.payload.get(key)
    body = container.get("body") if isinstance(container, dict) else None
    return parse_commands(body) if isinstance(body, str) else []
