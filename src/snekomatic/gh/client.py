"""The async REST + GraphQL client, on httpx and anyio. The only module of the library that imports httpx.

The rules live in :mod:`snekomatic.gh.sansio` (URLs, headers, errors, Link, rate limits) and
:mod:`snekomatic.gh._retry` (when to retry); this module sends, waits and remembers.

Decisions a caller can observe:

- Credentials go only to the configured API origin: every URL (templates, absolute URLs, Link ``next``
  pages, redirect targets) is checked by :func:`~snekomatic.gh.sansio.expand_url` before anything is
  sent, and a URL on another origin raises :class:`~snekomatic.gh.errors.ForbiddenURL`.
- Redirects: httpx never follows them. A GET or HEAD answered with 301/302/303/307/308 is followed
  here, at most 5 times, and only within the API origin (GitHub answers 301 for a renamed repository);
  a redirect elsewhere raises ``ForbiddenURL``. Any other 3xx (except 304) raises a plain ``HTTPError``.
- Pacing: one request in flight per :class:`~snekomatic.gh._pacing.Pacer`. The pacer's turn covers one
  attempt (send and read the answer). The waits between retries happen outside the turn, so the
  authenticator, which may itself make requests, is never called while a turn is held; instead a rate
  limit pauses the whole pacer, so every client of the installation waits, not only the one that hit it.
- Answers: JSON (``application/json`` or ``*+json``) is decoded; a body that declares a ``charset``
  (a diff: ``application/vnd.github.v3.diff; charset=utf-8``) and any ``text/*`` is returned as ``str``;
  anything else as ``bytes``; an empty body or 204 as None.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any, Final, Protocol, final

import anyio
import httpx

from snekomatic.gh._answers import Answer
from snekomatic.gh._cache import CacheKey, ResponseCache
from snekomatic.gh._pacing import MUTATING_METHODS, UNPACED, Pacer
from snekomatic.gh._retry import RetryPolicy, retry_delay, transport_retry_delay
from snekomatic.gh.errors import (
    ConfigurationError,
    GitHubTransportError,
    GraphQLError,
    HTTPError,
    NotFound,
    RateLimited,
    RateLimitExceeded,
    Unauthorized,
)
from snekomatic.gh.sansio import (
    ACCEPT,
    RateLimit,
    error_for_response,
    expand_url,
    next_page_url,
    request_headers,
)

__all__ = [
    "DEFAULT_RETRY",
    "Authenticator",
    "GitHubClient",
    "HTTPClient",
    "HTTPResponse",
    "new_http_client",
]

DEFAULT_RETRY: Final = RetryPolicy()

# One DEBUG line per answer: method, path (no query), status, remaining rate limit, request id and
# duration. Never a header: requests carry credentials. Standard logging, so any application can route it.
_log = logging.getLogger("snekomatic.gh.client")

# The transport seam: every client sends through one of these; tests may hand in their own.
HTTPClient = httpx.AsyncClient
HTTPResponse = httpx.Response


def new_http_client(
    *,
    event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
    timeout: float = 30.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> HTTPClient:
    """The HTTP client :class:`~snekomatic.gh.app.GitHubApp` makes when it is given none.

    It follows no redirects by itself (:class:`GitHubClient` decides, same-origin only) and ignores
    proxy variables of the environment, so credentials cannot be routed elsewhere by them.
    ``event_hooks`` are httpx's (``{"response": [async_fn]}``), to count calls, say: they see every
    request, headers included, so they must not log them. ``timeout``: seconds for each of
    connecting, reading, writing and waiting for a pooled connection. ``transport``: where requests
    go (None: the network; ``httpx.ASGITransport(app)``: an ASGI app in-process, as
    ``snekomatic.gh.testing`` reaches its fake).
    """
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        timeout=httpx.Timeout(timeout),
        event_hooks=dict(event_hooks or {}),
        transport=transport,
    )


MAX_REDIRECTS: Final = 5
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})


class Authenticator(Protocol):
    """Where a client gets its ``Authorization`` header; implemented by :mod:`snekomatic.gh.app`."""

    async def authorization(self) -> str:
        """The whole header value (``"Bearer <jwt>"`` or ``"token <token>"``); called before each attempt."""
        ...

    async def reauthorize(self, error: Unauthorized) -> bool:
        """React to a 401; True means: the next ``authorization()`` differs, retry the request once."""
        ...


@final
class GitHubClient:
    """An async client for GitHub's REST and GraphQL APIs, for one identity (app or installation).

    Args:
        http: the ``httpx.AsyncClient`` that sends (the caller owns and closes it).
        base_url: the API root, e.g. ``https://api.github.com`` or ``https://ghe.example/api/v3``.
        user_agent: sent with every request (GitHub rejects requests without one).
        auth: gives the ``Authorization`` header; None sends none.
        retry: the :class:`RetryPolicy`.
        pacer: the installation's shared :class:`Pacer`; None: no pacing beyond this client's own
            rate-limit bookkeeping.
        cache: a :class:`ResponseCache` for conditional GETs; None disables them.
        cache_scope: names the identity in cache keys (e.g. ``"installation:42"``); None uses a hash of
            the authorization header, so a shared cache never serves one identity's answer to another.
        clock: wall-clock epoch seconds, to compare with ``x-ratelimit-reset`` and ``retry-after`` dates.

    ``rate_limit`` is the last :class:`~snekomatic.gh.sansio.RateLimit` GitHub reported to this client.

    Every request method is a checkpoint and may wait (pacing, backoff, rate limits). Cancelling one
    abandons it: nothing is retried later, and the pacer is released. The authorization value is never
    put in an exception, a repr or a cache key.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        user_agent: str,
        auth: Authenticator | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        pacer: Pacer | None = None,
        cache: ResponseCache | None = None,
        cache_scope: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parsed = httpx.URL(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError("base_url", "must be an absolute http(s) URL")
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._user_agent = user_agent
        self._auth = auth
        self._retry = retry
        self._pacer = pacer if pacer is not None else Pacer(UNPACED)
        self._cache = cache
        self._cache_scope = cache_scope
        self._clock = clock
        self.rate_limit: RateLimit | None = None

    def __repr__(self) -> str:
        return f"GitHubClient(base_url={self._base_url!r}, user_agent={self._user_agent!r})"

    @property
    def base_url(self) -> str:
        """The API root this client may talk to (without a trailing slash)."""
        return self._base_url

    @property
    def graphql_url(self) -> str:
        """The GraphQL endpoint: ``{base}/graphql``, or ``https://host/api/graphql`` on GHES."""
        if self._base_url.endswith("/api/v3"):
            return self._base_url.removesuffix("/v3") + "/graphql"
        return self._base_url + "/graphql"

    # --- the public verbs -----------------------------------------------------------------------

    async def getitem(
        self, url: str, url_vars: Mapping[str, Any] | None = None, *, accept: str | None = None
    ) -> Any:
        """GET one resource and return its decoded body (see the module docstring for decoding).

        Raises ``ForbiddenURL`` before sending for a URL outside the API origin; the ``HTTPError``
        subclass for an error answer once retries (if any apply) are exhausted; ``RateLimited`` without
        sending when the primary limit resets later than ``retry.max_rate_limit_wait``;
        ``GitHubTransportError`` when no answer came after the retries.
        """
        return (await self._request("GET", url, url_vars, accept=accept)).decoded()

    async def getiter(
        self,
        url: str,
        url_vars: Mapping[str, Any] | None = None,
        *,
        iterable_key: str | None = None,
        accept: str | None = None,
    ) -> AsyncGenerator[Any, None]:
        """Yield every item of a paginated list, following ``Link: <...>; rel="next"`` page by page.

        ``iterable_key`` names the list inside a wrapping object (``"items"`` for search,
        ``"installations"``...). Each page is fetched like :meth:`getitem` (same errors); a ``next`` URL
        outside the API origin raises ``ForbiddenURL`` instead of being fetched. No pacer turn is held
        while an item is yielded; breaking out early fetches nothing more.
        """
        page_url: str | None = url
        page_vars = url_vars
        while page_url is not None:
            answer = await self._request("GET", page_url, page_vars, accept=accept)
            body = answer.decoded()
            items = body[iterable_key] if iterable_key is not None else body
            page_url = next_page_url(answer.headers)
            page_vars = None
            for item in items:
                yield item

    async def getstatus(
        self, url: str, url_vars: Mapping[str, Any] | None = None, *, accept: str | None = None
    ) -> int:
        """GET and return the status: a 2xx status, or 404 (returned, not raised).

        For "is X a member / starred / ..." checks that answer 204 or 404. Other errors raise as in
        :meth:`getitem`.
        """
        try:
            return (await self._request("GET", url, url_vars, accept=accept)).status
        except NotFound:
            return 404

    async def post(
        self,
        url: str,
        url_vars: Mapping[str, Any] | None = None,
        *,
        data: Any = None,
        accept: str | None = None,
    ) -> Any:
        """POST ``data`` as JSON and return the decoded answer. Errors as :meth:`getitem`.

        Paced as a write (``write_interval`` between the starts of writes); never resent after a
        transport error, because GitHub may have acted on it.
        """
        return (await self._request("POST", url, url_vars, accept=accept, data=data)).decoded()

    async def put(
        self,
        url: str,
        url_vars: Mapping[str, Any] | None = None,
        *,
        data: Any = None,
        accept: str | None = None,
    ) -> Any:
        """PUT ``data`` as JSON (idempotent: resent after a transport error). As :meth:`post`."""
        return (await self._request("PUT", url, url_vars, accept=accept, data=data)).decoded()

    async def patch(
        self,
        url: str,
        url_vars: Mapping[str, Any] | None = None,
        *,
        data: Any = None,
        accept: str | None = None,
    ) -> Any:
        """PATCH ``data`` as JSON (not resent after a transport error). As :meth:`post`."""
        return (await self._request("PATCH", url, url_vars, accept=accept, data=data)).decoded()

    async def delete(
        self,
        url: str,
        url_vars: Mapping[str, Any] | None = None,
        *,
        data: Any = None,
        accept: str | None = None,
    ) -> None:
        """DELETE (idempotent: resent after a transport error); returns None. Errors as :meth:`post`."""
        await self._request("DELETE", url, url_vars, accept=accept, data=data)

    async def graphql(self, query: str, **variables: Any) -> Any:
        """Run a GraphQL query or mutation and return its ``data``.

        Raises ``GraphQLError`` (with GitHub's ``errors`` and any partial ``data``) when the answer
        carries errors, and the same HTTP errors as :meth:`post`. Paced as a write (it is a POST) and
        checked against the ``graphql`` rate limit.
        """
        payload = {"query": query, "variables": variables}
        answer = await self._request(
            "POST", self.graphql_url, None, accept=None, data=payload, resource="graphql"
        )
        body = answer.decoded()
        if not isinstance(body, dict):
            raise GraphQLError([{"message": "the answer is not a JSON object"}])
        if body.get("errors"):
            raise GraphQLError(body["errors"], body.get("data"))
        return body.get("data")

    # --- one request, with retries ----------------------------------------------------------------

    async def _request(
        self,
        method: str,
        url: str,
        url_vars: Mapping[str, Any] | None,
        *,
        accept: str | None,
        data: Any = None,
        resource: str = "core",
    ) -> Answer:
        target = expand_url(url, url_vars, base_url=self._base_url)
        accept = accept or ACCEPT
        content = None if data is None else json.dumps(data).encode()
        retries = 0
        reauthorized = False
        redirects = 0
        while True:
            authorization = await self._auth.authorization() if self._auth is not None else None
            cache_key = self._cache_key(method, target, accept, authorization)
            cached = self._cache.get(cache_key) if self._cache and cache_key else None
            headers = request_headers(
                user_agent=self._user_agent, authorization=authorization, accept=accept
            )
            if cached is not None:
                headers.update(cached.conditional_headers())
            if content is not None:
                headers["Content-Type"] = "application/json"
            await self._wait_for_primary_limit(resource)
            try:
                async with self._pacer.turn(mutating=method in MUTATING_METHODS):
                    sent_at = anyio.current_time()
                    response = await self._http.request(
                        method, target, headers=headers, content=content, follow_redirects=False
                    )
            except httpx.TransportError as exc:
                delay = transport_retry_delay(method, attempt=retries, policy=self._retry)
                if delay is None:
                    raise GitHubTransportError(
                        f"{method} {_without_query(target)} got no answer: {type(exc).__name__}"
                    ) from exc
                retries += 1
                await anyio.sleep(delay)
                continue

            answer = Answer(
                response.status_code,
                {name.lower(): value for name, value in response.headers.items()},
                response.content,
            )
            rate_limit = self._note_rate_limit(answer.headers)
            if _log.isEnabledFor(logging.DEBUG):
                _log.debug(
                    "GitHub call",
                    extra={
                        "method": method,
                        "path": urllib.parse.urlsplit(target).path,
                        "status": answer.status,
                        "rate_limit_remaining": None
                        if rate_limit is None
                        else rate_limit.remaining,
                        "request_id": answer.headers.get("x-github-request-id"),
                        "duration_ms": round((anyio.current_time() - sent_at) * 1000, 1),
                    },
                )
            if answer.status == 304:
                if cached is None:
                    return answer
                return Answer(cached.status, cached.headers, cached.body)
            if 300 <= answer.status < 400:
                target = self._redirect_target(method, target, answer, redirects)
                redirects += 1
                continue

            now = self._clock()
            error = error_for_response(answer.status, answer.headers, answer.body, now)
            if error is None:
                if self._cache is not None and cache_key is not None:
                    self._cache.store(cache_key, answer.status, answer.headers, answer.body)
                return answer
            if isinstance(error, Unauthorized) and self._auth is not None and not reauthorized:
                reauthorized = True
                if await self._auth.reauthorize(error):
                    continue
            delay = retry_delay(error, attempt=retries, policy=self._retry, now=now)
            if delay is None:
                raise error
            if isinstance(error, RateLimitExceeded):
                # The limit is the installation's, not this request's: hold every client of the pacer.
                self._pacer.pause_until(anyio.current_time() + delay)
            retries += 1
            await anyio.sleep(delay)

    def _cache_key(
        self, method: str, url: str, accept: str, authorization: str | None
    ) -> CacheKey | None:
        if self._cache is None or method != "GET":
            return None
        scope = self._cache_scope
        if scope is None:
            scope = (
                "anonymous"
                if authorization is None
                else "sha256:" + hashlib.sha256(authorization.encode()).hexdigest()
            )
        return CacheKey(method, url, accept, scope)

    def _note_rate_limit(self, headers: Mapping[str, str]) -> RateLimit | None:
        rate_limit = RateLimit.from_headers(headers)
        if rate_limit is not None:
            self.rate_limit = rate_limit
            self._pacer.note_rate_limit(rate_limit)
        return rate_limit

    async def _wait_for_primary_limit(self, resource: str) -> None:
        """Before sending: wait out an exhausted primary limit, or raise RateLimited if it is too far."""
        rate_limit = self._pacer.rate_limit_for(resource)
        # Without both numbers there is nothing to wait for: send, and let GitHub's answer decide.
        if rate_limit is None or rate_limit.remaining != 0 or rate_limit.reset_at is None:
            return
        wait = rate_limit.reset_at - self._clock()
        if wait <= 0:
            return
        if wait > self._retry.max_rate_limit_wait:
            raise RateLimited(
                403,
                f"the {resource} rate limit is used up for {wait:.0f} s more; request not sent",
                reset_at=rate_limit.reset_at,
            )
        await anyio.sleep(wait)

    def _redirect_target(self, method: str, target: str, answer: Answer, redirects: int) -> str:
        location = answer.headers.get("location")
        if (
            method not in ("GET", "HEAD")
            or answer.status not in _REDIRECT_STATUSES
            or location is None
            or redirects >= MAX_REDIRECTS
        ):
            raise HTTPError(
                answer.status,
                "unexpected redirect",
                request_id=answer.headers.get("x-github-request-id"),
                headers=answer.headers,
            )
        absolute = str(httpx.URL(target).join(location))
        return expand_url(absolute, None, base_url=self._base_url)


def _without_query(url: str) -> str:
    return url.partition("?")[0]
