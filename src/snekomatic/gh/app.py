"""``GitHubApp``: a GitHub App's credentials, its clients, its token cache, and its webhook routing.

It keeps the shape of the original snekomatic's ``gh.py``::

    app = GitHubApp.from_env(user_agent="my-bot")  # the rest from GITHUB_APP_ID, GITHUB_PRIVATE_KEY, ...

    @app.route("pull_request", action="closed")
    async def on_merge(ctx: HandlerContext) -> None:
        await ctx.client.post(ctx.payload["pull_request"]["comments_url"], data={"body": "Thanks!"})

    @app.route_command("/ping")
    async def ping(ctx: HandlerContext) -> None: ...

    async with app:
        await app.dispatch(app.parse_webhook(headers, body))

A bot may also be written as ``app = GitHubApp()`` plus its routes, with no settings at all, and be
given them by whatever serves it: :meth:`GitHubApp.replace` makes the same routes and commands into an
app with other settings (``snekomatic run mybot:app`` does that, as does a test aiming the bot at a
fake GitHub).

The constructor takes values and never reads the environment; :meth:`GitHubApp.from_env` reads these
variables, once, when it is called:

=================  ==========================  =================================================
argument           environment variable        notes
=================  ==========================  =================================================
``app_id``         ``GITHUB_APP_ID``           int or str (the app id, or its client id)
``private_key``    ``GITHUB_PRIVATE_KEY``      PEM; in the variable, literal ``\\n`` escapes
                                               become newlines
``webhook_secret`` ``GITHUB_WEBHOOK_SECRET``   one secret, or several (a sequence; in the
                                               variable, separated by commas) during a rotation
``user_agent``     ``GITHUB_USER_AGENT``       GitHub rejects requests without one
``base_url``       ``GITHUB_API_URL``          default ``https://api.github.com``; GHES:
                                               ``https://HOST/api/v3``
=================  ==========================  =================================================

A setting left unset is needed only by what uses it (an app that only routes needs none): using it
raises :class:`~snekomatic.gh.errors.ConfigurationError` naming the argument and its variable.
Secrets (key, webhook secrets, JWTs, tokens) never appear in a repr or in a message raised from here.
``GithubApp`` is the same class under the original's spelling.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, final

from snekomatic.gh._app_settings import ENVIRONMENT_VARIABLES, app_settings_from_env
from snekomatic.gh._cache import ResponseCache
from snekomatic.gh._pacing import Pacer, WriteSlots
from snekomatic.gh._retry import RetryPolicy
from snekomatic.gh._routing import DEFAULT_COMMAND_LIMIT, CommandLimit, H, HandlerContext, Router
from snekomatic.gh._tokens import (
    TOKEN_MIN_TTL_SECONDS,
    AppAuthenticator,
    AppJWTCache,
    InstallationAuthenticator,
    InstallationToken,
    InstallationTokenCache,
    ServerClock,
    installation_key,
    parse_github_time,
)
from snekomatic.gh.client import DEFAULT_RETRY, GitHubClient, HTTPClient, new_http_client
from snekomatic.gh.errors import ConfigurationError
from snekomatic.gh.sansio import Event, RateLimit, encode_app_jwt, parse_webhook

__all__ = ["DEFAULT_BASE_URL", "GitHubApp", "GithubApp", "HandlerContext"]

DEFAULT_BASE_URL: Final = "https://api.github.com"

_ACCESS_TOKENS_URL: Final = "/app/installations/{installation_id}/access_tokens"


@final
class GitHubApp:
    """A GitHub App: see the module docstring for its settings.

    Args:
        app_id, private_key, webhook_secret, user_agent, base_url: the settings, as values (the
            private key as PEM text); None: unset (``base_url``: GitHub's own API). The environment
            is never read: :meth:`from_env` does that.
        http: the ``httpx.AsyncClient`` every client of this app sends through. The caller owns it.
            None: one is created on first use and closed by :meth:`aclose`.
        clock: wall-clock epoch seconds (for JWT claims and token expiry); tests inject a fake.
        retry: the :class:`~snekomatic.gh._retry.RetryPolicy` of every client.
        command_limit: how many slash commands of one sender are answered per installation
            (:class:`~snekomatic.gh._routing.CommandLimit`; in memory, per process); None: no limit.
        write_slots: where each installation's writes are spaced (GitHub's 1 s between writes);
            None: in memory, per process. Pass a shared :class:`~snekomatic.gh._pacing.WriteSlots`
            when several processes act for the same installations.
    """

    def __init__(
        self,
        *,
        app_id: int | str | None = None,
        private_key: str | None = None,
        webhook_secret: str | Sequence[str] | None = None,
        user_agent: str | None = None,
        base_url: str | None = None,
        http: HTTPClient | None = None,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy = DEFAULT_RETRY,
        command_limit: CommandLimit | None = DEFAULT_COMMAND_LIMIT,
        write_slots: WriteSlots | None = None,
    ) -> None:
        self._app_id = None if app_id is None else str(app_id).strip()
        self._private_key = private_key
        self._webhook_secret = webhook_secret
        self._user_agent = user_agent
        self._base_url = base_url
        self._http = http
        self._owns_http = http is None
        self._retry = retry
        self._wall_clock = clock
        self._command_limit = command_limit
        self._clock = ServerClock(clock)
        self._jwt = AppJWTCache(self._encode_jwt, self._clock)
        self._tokens = InstallationTokenCache(self._mint_token, self._clock)
        self._app_client: GitHubClient | None = None
        self._write_slots = write_slots
        self._pacers: dict[int, Pacer] = {}
        self._caches: dict[int, ResponseCache] = {}
        self._router = Router(command_limit=command_limit)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, **overrides: Any) -> GitHubApp:
        """A GitHubApp with the settings ``environ`` holds (see the module docstring's table), read
        now and once; ``overrides`` are constructor arguments, and win over the variables.

        The private key's literal ``\\n`` escapes become newlines and the webhook secret is split on
        commas (:func:`~snekomatic.gh.unescape_private_key`,
        :func:`~snekomatic.gh.split_webhook_secrets`). A variable that is unset or blank leaves its
        setting unset. Raises ``TypeError`` for an override the constructor does not take. The values
        read are secrets where the settings are.
        """
        return cls(**{**app_settings_from_env(environ, skip=overrides.keys()), **overrides})

    def replace(self, **changes: Any) -> GitHubApp:
        """A new GitHubApp with this one's routes and slash commands, in order, and its constructor
        arguments but for ``changes``, which replace them (``private_key=None`` unsets the key).

        What hosts a bot written as ``app = GitHubApp()`` plus routes uses to serve it with its own
        credentials and HTTP client (``snekomatic run``), and what a bot's tests use to aim it at a
        fake GitHub. The new app shares the handlers, an ``http`` client this one was given (unless
        replaced) and its ``write_slots``; it has its own token cache, clients and command rate-limit
        buckets, and routes added to either app afterwards stay on that app. Not a checkpoint.
        Raises ``TypeError`` for a change the constructor does not take. The arguments carried over
        are secrets where the settings are.
        """
        arguments: dict[str, Any] = {
            "app_id": self._app_id,
            "private_key": self._private_key,
            "webhook_secret": self._webhook_secret,
            "user_agent": self._user_agent,
            "base_url": self._base_url,
            "http": None if self._owns_http else self._http,
            "clock": self._wall_clock,
            "retry": self._retry,
            "command_limit": self._command_limit,
            "write_slots": self._write_slots,
        }
        app = GitHubApp(**{**arguments, **changes})
        app._router.include(self._router)
        return app

    def __repr__(self) -> str:
        return f"GitHubApp(app_id={self._app_id!r}, base_url={self.base_url!r})"

    # --- settings -------------------------------------------------------------------------------

    @staticmethod
    def _unset(argument: str) -> ConfigurationError:
        return ConfigurationError(
            argument,
            f"is not set (pass {argument}= to GitHubApp, or set"
            f" {ENVIRONMENT_VARIABLES[argument]} for GitHubApp.from_env)",
        )

    @property
    def app_id(self) -> str:
        """The app id (the JWT's ``iss``). Raises ``ConfigurationError`` naming ``app_id`` if unset."""
        if self._app_id is None:
            raise self._unset("app_id")
        if not self._app_id:
            raise ConfigurationError("app_id", "is empty")
        return self._app_id

    @property
    def user_agent(self) -> str:
        """The User-Agent. Raises ``ConfigurationError`` naming ``user_agent`` if unset."""
        if self._user_agent is None:
            raise self._unset("user_agent")
        return self._user_agent

    @property
    def base_url(self) -> str:
        """The API root: the argument, else ``https://api.github.com``."""
        return DEFAULT_BASE_URL if self._base_url is None else self._base_url

    @property
    def webhook_secrets(self) -> list[bytes]:
        """Every accepted webhook secret, UTF-8 encoded (several while rotating).

        Raises ``ConfigurationError`` naming ``webhook_secret`` when it is unset, or holds no secret or
        an empty one.
        """
        secrets = self._webhook_secret
        if secrets is None:
            raise self._unset("webhook_secret")
        if isinstance(secrets, str):
            secrets = [secrets]
        if not secrets or not all(secrets):
            raise ConfigurationError("webhook_secret", "must hold at least one non-empty secret")
        return [secret.encode() for secret in secrets]

    def _private_key_pem(self) -> str:
        if self._private_key is None:
            raise self._unset("private_key")
        return self._private_key

    def _encode_jwt(self, now: float) -> tuple[str, float]:
        return encode_app_jwt(self.app_id, self._private_key_pem(), now)

    # --- webhooks -------------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> Event:
        """:func:`snekomatic.gh.sansio.parse_webhook` with this app's :attr:`webhook_secrets`.

        Raises the ``WebhookError`` subclasses, and ``ConfigurationError`` when no secret is set.
        Not a checkpoint.
        """
        return parse_webhook(headers, body, self.webhook_secrets)

    # --- clients --------------------------------------------------------------------------------

    def _http_client(self) -> HTTPClient:
        if self._http is None:
            self._http = new_http_client()
        return self._http

    @property
    def app_client(self) -> GitHubClient:
        """The client that authenticates as the app (``Bearer <jwt>``), made once and kept.

        Its JWT is reused while it has more than a minute left. A JWT refused for clock skew is rebuilt
        from GitHub's ``Date`` header and the request retried once; the correction is kept. Raises
        ``ConfigurationError`` for a missing user agent here, and from its requests for a missing app id
        or an unusable private key.
        """
        if self._app_client is None:
            self._app_client = GitHubClient(
                self._http_client(),
                base_url=self.base_url,
                user_agent=self.user_agent,
                auth=AppAuthenticator(self._jwt, self._clock),
                retry=self._retry,
                pacer=Pacer(),
                cache_scope="app",
                clock=self._clock.now,
            )
        return self._app_client

    def client_for(self, installation_id: int | str) -> GitHubClient:
        """A client that authenticates as the installation (``token <t>``). Not a checkpoint.

        Clients of one installation share its token, its :class:`Pacer` (serial requests, 1 s between
        writes, kept through this app's ``write_slots``) and its response cache, so making one per task or per event is cheap. ``"42"`` and
        ``42`` are the same installation. Raises ``ValueError`` for an id that is not a number and
        ``ConfigurationError`` for a missing user agent.
        """
        key = installation_key(installation_id)
        return GitHubClient(
            self._http_client(),
            base_url=self.base_url,
            user_agent=self.user_agent,
            auth=InstallationAuthenticator(self._tokens, key),
            retry=self._retry,
            pacer=self._pacer_for(key),
            cache=self._caches.setdefault(key, ResponseCache()),
            cache_scope=f"installation:{key}",
            clock=self._clock.now,
        )

    def _pacer_for(self, key: int) -> Pacer:
        pacer = self._pacers.get(key)
        if pacer is None:
            pacer = self._pacers[key] = Pacer(write_slots=self._write_slots, installation_id=key)
        return pacer

    async def token_for(
        self, installation_id: int | str, *, min_ttl: float = TOKEN_MIN_TTL_SECONDS
    ) -> str:
        """A raw installation token with at least ``min_ttl`` seconds to live (e.g. for git over HTTPS).

        Served from the shared cache; minted (``POST /app/installations/{id}/access_tokens``) when
        missing or too close to expiry, by one task even when many ask at once. A checkpoint. Raises
        the API errors of that request (``NotFound`` for an unknown installation...), and
        ``ConfigurationError`` for missing credentials. Cancelled while minting: nothing is cached.
        The token is a secret: do not log it.
        """
        return (await self._tokens.get(installation_id, min_ttl=min_ttl)).token

    async def _mint_token(self, installation_id: int) -> InstallationToken:
        answer = await self.app_client.post(
            _ACCESS_TOKENS_URL, {"installation_id": installation_id}
        )
        if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
            raise ValueError("GitHub's access token answer holds no token")
        expires_at = answer.get("expires_at")
        if not isinstance(expires_at, str):
            raise ValueError("GitHub's access token answer holds no expires_at")
        return InstallationToken(
            token=answer["token"],
            expires_at=parse_github_time(expires_at),
            minted_at=self._clock.now(),
        )

    # --- routing --------------------------------------------------------------------------------

    def route(self, event: str, **restrictions: Any) -> Callable[[H], H]:
        """Decorator: run the handler for ``event`` (``"*"``: every event) when every restriction equals
        the payload's top-level field of that name. See :meth:`Router.route`."""
        return self._router.route(event, **restrictions)

    def route_command(self, command: str) -> Callable[[H], H]:
        """Decorator: run the handler once for an issue, PR, comment or review body holding
        ``/command`` lines, within the sender's command rate limit; ``ctx.command`` holds the first
        line, ``ctx.commands`` all of them. See :meth:`Router.route_command`."""
        return self._router.route_command(command)

    def may_handle(self, event: str, action: str | None) -> bool:
        """Whether a delivery of ``event`` with ``action`` could make a registered handler run; False
        only when :meth:`dispatch` would certainly do nothing (see ``Router.may_handle``). Pure."""
        return self._router.may_handle(event, action)

    async def dispatch(self, event: Event) -> None:
        """Run every handler that matches ``event``, in registration order.

        Handler failures (``Exception``) are collected and raised together afterwards as one
        ``ExceptionGroup``; cancellation propagates at once. See :meth:`Router.dispatch`.
        """
        await self._router.dispatch(event, self)

    # --- lifetime -------------------------------------------------------------------------------

    def rate_limits(self) -> dict[int, dict[str, RateLimit]]:
        """The last rate limit GitHub reported to each installation's clients, by installation id and
        resource (``"core"``, ``"graphql"``, ``"search"``...): for metrics and status pages. Not a
        checkpoint; installations this app has not called yet are absent."""
        return {key: pacer.rate_limits() for key, pacer in self._pacers.items()}

    async def aclose(self) -> None:
        """Close the HTTP client if this app created it (an injected one is left open). A checkpoint."""
        if self._owns_http and self._http is not None:
            http, self._http = self._http, None
            self._app_client = None
            await http.aclose()

    async def __aenter__(self) -> GitHubApp:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


#: The original snekomatic's spelling, kept for its users.
GithubApp = GitHubApp
