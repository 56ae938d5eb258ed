"""Every exception :mod:`snekomatic.gh` raises on purpose.

The tree, arranged by who is at fault::

    GitHubError                       root; never raised itself
    ├── ConfigurationError            a required setting is missing or malformed (names it)
    ├── ForbiddenURL                  a URL outside the configured API origin; raised before sending
    ├── NoInstallation                an installation client for an event that names no installation
                                      (also a ``LookupError``)
    ├── WebhookError                  an incoming delivery is unacceptable; has ``status_hint``
    │   ├── InvalidSignature          401: missing, malformed or wrong X-Hub-Signature-256
    │   ├── MissingHeader             400: X-GitHub-Event or X-GitHub-Delivery absent
    │   ├── MalformedHeader           400: X-GitHub-Delivery not an identifier that can be kept
    │   ├── MalformedPayload          400: the body is not the JSON object it claims to be
    │   ├── UnsupportedMediaType      415: neither JSON nor form-encoded
    │   └── PayloadTooLarge           413: over GitHub's 25 MB limit
    ├── GitHubTransportError          the request never got an HTTP answer (raised ``from`` httpx's)
    ├── GraphQLError                  a GraphQL answer carried ``errors``
    └── HTTPError                     GitHub answered with an error status
        ├── BadRequest                4xx
        │   ├── Unauthorized          401: bad or expired credentials
        │   ├── Forbidden             403 that is not a rate limit (usually a missing permission)
        │   ├── NotFound              404
        │   ├── ValidationFailed      422, with GitHub's ``errors`` and a line of text for each
        │   └── RateLimitExceeded     403/429 for a rate limit
        │       ├── RateLimited           the primary limit (``x-ratelimit-remaining: 0``): ``reset_at``
        │       └── SecondaryRateLimited  a secondary limit: ``retry_after`` (None when GitHub gave none)
        └── ServerError               5xx: GitHub is unavailable

``WebhookError`` subclasses carry ``status_hint``, the HTTP status a web layer should answer with, so the
web layer maps exceptions to responses without deciding anything again (the idea of h11's
``error_status_hint``).

No message or ``repr`` here ever contains a credential: exceptions are built from GitHub's answer (status,
message, documentation URL, request id, response headers), never from the request that carried the token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "BadRequest",
    "ConfigurationError",
    "Forbidden",
    "ForbiddenURL",
    "GitHubError",
    "GitHubTransportError",
    "GraphQLError",
    "HTTPError",
    "InvalidSignature",
    "MalformedHeader",
    "MalformedPayload",
    "MissingHeader",
    "NoInstallation",
    "NotFound",
    "PayloadTooLarge",
    "RateLimitExceeded",
    "RateLimited",
    "SecondaryRateLimited",
    "ServerError",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "WebhookError",
]


class GitHubError(Exception):
    """Root of every exception :mod:`snekomatic.gh` raises on purpose."""


class ConfigurationError(GitHubError):
    """A required setting is missing or malformed. The message names the setting, never its value.

    ``setting`` is the argument's name (``private_key``); ``problem`` is the rest of the message, so
    that a program reading the setting from elsewhere can say it under its own name.
    """

    def __init__(self, setting: str, problem: str = "is not set") -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting} {problem}")


class ForbiddenURL(GitHubError):
    """A URL points outside the configured API origin. Raised before any request is sent.

    ``url`` is the offending URL with any query string and userinfo removed.
    """

    def __init__(self, url: str, allowed_origin: str) -> None:
        self.url = url
        self.allowed_origin = allowed_origin
        super().__init__(f"refusing to send a request to {url}: only {allowed_origin} is allowed")


class NoInstallation(GitHubError, LookupError):
    """A handler asked for its installation's client (``HandlerContext.client``) for an event that
    names no installation (``ping`` and other app-level events).

    Also a ``LookupError``: the installation id was looked up in the payload and is not there.
    """


# --- incoming webhooks -------------------------------------------------------------------------------


class WebhookError(GitHubError):
    """An incoming webhook delivery cannot be accepted. ``status_hint`` is the status to answer with."""

    status_hint: int = 400


class InvalidSignature(WebhookError):
    """The ``X-Hub-Signature-256`` header is missing, malformed, or does not match the body.

    Every way a signature can be wrong raises this same type, so a forged request learns nothing.
    """

    status_hint = 401


class MissingHeader(WebhookError):
    """A header every GitHub delivery carries (``X-GitHub-Event``, ``X-GitHub-Delivery``) is absent."""

    status_hint = 400

    def __init__(self, header: str) -> None:
        self.header = header
        super().__init__(f"missing required header {header}")


class MalformedHeader(WebhookError):
    """A header every GitHub delivery carries has a value no GitHub delivery has (too long, say).

    Permanent: the same request will never be accepted, so it is a 4xx, not a "retry later". The
    message names the header and the problem, never the value.
    """

    status_hint = 400

    def __init__(self, header: str, problem: str) -> None:
        self.header = header
        super().__init__(f"header {header} {problem}")


class MalformedPayload(WebhookError):
    """The body (or the form's ``payload`` field) is not a JSON object, or not one GitHub would send
    (an ``installation.id`` no 64-bit integer holds, say)."""

    status_hint = 400


class UnsupportedMediaType(WebhookError):
    """The content type is neither ``application/json`` nor ``application/x-www-form-urlencoded``."""

    status_hint = 415

    def __init__(self, content_type: str | None) -> None:
        self.content_type = content_type
        super().__init__(f"unsupported content type {content_type!r}")


class PayloadTooLarge(WebhookError):
    """The body is larger than GitHub's webhook payload limit (25 MB)."""

    status_hint = 413


# --- the API -----------------------------------------------------------------------------------------


class GitHubTransportError(GitHubError):
    """The request got no HTTP answer (connection refused, reset, timed out). Raised ``from`` the cause."""


class GraphQLError(GitHubError):
    """A GraphQL response carried ``errors``; ``errors`` is GitHub's list and ``data`` any partial data."""

    def __init__(self, errors: Sequence[Mapping[str, Any]], data: Any = None) -> None:
        self.errors = list(errors)
        self.data = data
        messages = "; ".join(str(e.get("message", e)) for e in self.errors) or "unknown error"
        super().__init__(f"GraphQL query failed: {messages}")


class HTTPError(GitHubError):
    """GitHub answered with an error status.

    Attributes: ``status`` (int), ``message`` (GitHub's ``message`` or the reason phrase),
    ``documentation_url`` (or None), ``request_id`` (``x-github-request-id``, or None),
    ``headers`` (the response headers, lower-cased; responses carry no credentials), ``body`` (the
    decoded JSON body, or None) and ``body_excerpt`` (the first 1,000 characters of a body that is
    not JSON, such as a proxy's HTML error page, as text; None for JSON or an empty body). The excerpt
    is for a person diagnosing the failure: it is kept out of the message and the ``repr``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        documentation_url: str | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        body_excerpt: str | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.documentation_url = documentation_url
        self.request_id = request_id
        self.headers: Mapping[str, str] = dict(headers or {})
        self.body = body
        self.body_excerpt = body_excerpt
        text = f"{status}: {message}"
        if detail := self._detail():
            text += f": {detail}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)

    def _detail(self) -> str:
        # What a subclass adds to the message after GitHub's ``message``; called by __init__.
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"


class BadRequest(HTTPError):
    """A 4xx answer: the request was wrong in GitHub's eyes. Not retried."""


class Unauthorized(BadRequest):
    """401: the credentials were rejected (expired token, bad JWT, clock skew)."""


class Forbidden(BadRequest):
    """403 that is not a rate limit: usually the app lacks a permission."""


class NotFound(BadRequest):
    """404. GitHub also answers 404 where the app may not see a resource."""


class ValidationFailed(BadRequest):
    """422: GitHub refused the request's content.

    ``errors`` is GitHub's ``errors`` as a list: usually dicts with ``resource``, ``field``, ``code`` and
    sometimes ``message``; some endpoints send strings. (A single string, as the commit-status endpoint
    sends, or a single dict, is a one-item list; anything else an empty one.) ``reasons`` has one line of
    text per error (``"Milestone.title: missing_field"``, or the string GitHub sent), and the exception's
    message ends with them: ``"422: Validation Failed: This SHA and context has reached the maximum
    number of statuses. (request id ...)"``.
    """

    def __init__(
        self, status: int, message: str, *, errors: Sequence[Any] = (), **kwargs: Any
    ) -> None:
        self.errors = list(errors)
        self.reasons = tuple(reason for reason in map(_error_reason, self.errors) if reason)
        super().__init__(status, message, **kwargs)

    def _detail(self) -> str:
        return "; ".join(self.reasons)


def _error_reason(error: Any) -> str:
    """One line for one item of a 422's ``errors``: ``resource.field: message`` (or ``: code``), runs of
    whitespace (newlines included) collapsed to one space.

    https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#validation-failed
    """
    if not isinstance(error, Mapping):
        return _one_line(str(error))
    where = ".".join(
        part for part in (_text_at(error, "resource"), _text_at(error, "field")) if part
    )
    what = _text_at(error, "message") or _text_at(error, "code")
    if not what:  # neither: keep whatever else GitHub said about it
        what = ", ".join(
            f"{key}={value!r}" for key, value in error.items() if key not in ("resource", "field")
        )
    return _one_line(f"{where}: {what}" if where and what else where or what)


def _text_at(error: Mapping[str, Any], key: str) -> str:
    value = error.get(key)
    return value if isinstance(value, str) else ""


def _one_line(text: str) -> str:
    # GitHub's schema errors read "Invalid request.\n\nFor 'links/0/schema', ...": a log line is one line.
    return " ".join(text.split())


class RateLimitExceeded(BadRequest):
    """403/429 for a rate limit. ``reset_at`` (epoch seconds) and ``retry_after`` (seconds), when known."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        reset_at: float | None = None,
        retry_after: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.reset_at = reset_at
        self.retry_after = retry_after
        super().__init__(status, message, **kwargs)


class RateLimited(RateLimitExceeded):
    """The primary rate limit is used up until ``reset_at``."""


class SecondaryRateLimited(RateLimitExceeded):
    """A secondary (abuse) limit; wait ``retry_after`` seconds, or at least 60 s when it is None."""


class ServerError(HTTPError):
    """5xx: GitHub is unavailable or failed. Retried by the client."""
