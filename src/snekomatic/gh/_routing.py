"""Routing webhook events to handlers: ``route``, ``route_command`` and ``dispatch``.

Handlers are ``async def handler(ctx: HandlerContext) -> None``. They run one after another in the order
they were registered; a failing handler does not stop the ones after it, and all failures are raised
together at the end as one ``ExceptionGroup``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Final, TypeVar, final

from snekomatic.gh.commands import Command, is_command_name, parse_commands

if TYPE_CHECKING:
    from snekomatic.gh.app import GithubApp
    from snekomatic.gh.client import GitHubClient
    from snekomatic.gh.sansio import Event

__all__ = ["ANY_EVENT", "COMMAND_SOURCES", "Handler", "HandlerContext", "NoInstallation", "Router"]

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


class NoInstallation(LookupError):
    """``HandlerContext.client`` was used for an event that names no installation."""


@dataclass(frozen=True, kw_only=True)
class HandlerContext:
    """Everything a handler gets: the event, the app, and (for command handlers) the command.

    ``client`` is the installation's :class:`~snekomatic.gh.client.GitHubClient`, made on first use and
    then kept for this context; it raises :class:`NoInstallation` when the event carries no
    installation id (``ping`` and other app-level events): use ``ctx.app.app_client`` there.
    """

    event: Event
    app: GithubApp
    command: Command | None = None

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
    """An ordered list of routes. :class:`~snekomatic.gh.app.GithubApp` holds one."""

    def __init__(self) -> None:
        self._routes: list[_Route] = []

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

        It runs once for each line holding the command in the Markdown body of an issue or pull request
        (opened, edited), an issue comment (created, edited), a review (submitted, edited) or a review
        comment (created), with ``ctx.command`` set. See :data:`COMMAND_SOURCES` and
        :func:`~snekomatic.gh.commands.parse_commands`. Names are case-sensitive. Raises ``ValueError``
        when ``command`` is not a ``/`` followed by letters, digits, ``-`` or ``_``.
        """
        if not is_command_name(command):
            raise ValueError(f"not a slash command name: {command!r} (expected e.g. '/ping')")

        def register(handler: H) -> H:
            self._routes.append(_Route(ANY_EVENT, {}, handler, command))
            return handler

        return register

    def calls_for(self, event: Event) -> list[tuple[Handler, Command | None]]:
        """The handler calls ``event`` triggers, in order: ``(handler, command or None)``. Pure."""
        commands = _commands_in(event)
        calls: list[tuple[Handler, Command | None]] = []
        for route in self._routes:
            if route.command is None:
                if route.matches(event):
                    calls.append((route.handler, None))
            else:
                calls.extend(
                    (route.handler, command)
                    for command in commands
                    if command.name == route.command
                )
        return calls

    async def dispatch(self, event: Event, app: GithubApp) -> None:
        """Run every handler matching ``event``, one after another in registration order.

        A handler raising an ``Exception`` does not stop the others; once all have run, the failures
        are raised together as an ``ExceptionGroup`` (even when there is only one). Nothing matching is
        not an error. A checkpoint only if a handler is. Cancellation (a ``BaseException``) is never
        caught: it stops the remaining handlers and propagates at once.
        """
        failures: list[Exception] = []
        for handler, command in self.calls_for(event):
            context = HandlerContext(event=event, app=app, command=command)
            try:
                await handler(context)
            except Exception as exc:  # noqa: BLE001 - the documented boundary: collected, re-raised below
                failures.append(exc)
        if failures:
            raise ExceptionGroup(
                f"{len(failures)} handler(s) failed for {event.event} delivery {event.delivery_id}",
                failures,
            )


def _commands_in(event: Event) -> list[Command]:
    if event.action is None:
        return []
    key = COMMAND_SOURCES.get((event.event, event.action))
    if key is None:
        return []
    container = event.payload.get(key)
    body = container.get("body") if isinstance(container, dict) else None
    return parse_commands(body) if isinstance(body, str) else []
