"""The path every request to the fake takes, whatever its route.

record -> User-Agent check -> authenticate -> injected fault -> primary rate limit -> handler -> ETag /
304 -> the headers every GitHub answer carries (``Date`` from the fake's clock, ``x-github-request-id``,
``x-ratelimit-*``).
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from snekomatic.gh.testing import _access
from snekomatic.gh.testing._auth import AppCaller, Caller, InstallationCaller
from snekomatic.gh.testing._faults import fault_error
from snekomatic.gh.testing._model import FakeInstallation, FakeUser, RecordedRequest
from snekomatic.gh.testing._replies import ApiError, Reply, not_accessible, not_found

if TYPE_CHECKING:
    from snekomatic.gh.testing._state import FakeGitHubState

Auth = Literal["app", "installation", "any"]
Handler = Callable[["Call"], Awaitable[Reply]]

USER_AGENT_MESSAGE = (
    "Request forbidden by administrative rules. Please make sure your request has a User-Agent header "
    "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required)."
)
REQUIRES_AUTHENTICATION = "Requires authentication"
JWT_REQUIRED = "A JSON web token could not be decoded"


@dataclass(kw_only=True)
class Call:
    """What a route handler sees: the parsed request, who sent it, and the fake."""

    fake: FakeGitHubState
    method: str
    path: str
    path_params: Mapping[str, Any]
    query: dict[str, str]
    json: Any
    caller: Caller
    api: str  # the fake's base URL as the client reached it
    now: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The absolute URL of this request, without its query."""
        return self.api + self.path

    @property
    def installation(self) -> FakeInstallation | None:
        return self.caller.installation if isinstance(self.caller, InstallationCaller) else None

    def body_field(self, name: str) -> Any:
        return self.json.get(name) if isinstance(self.json, dict) else None

    def check_access(
        self,
        account: FakeUser,
        *,
        private: bool = False,
        write: bool = False,
        permission: str | None = None,
    ) -> None:
        """Raise GitHub's error unless the caller may read (or ``write``) a resource of ``account``.

        Installation tokens reach only their own account's resources, with the permission asked for
        (``"members"``, ``"issues"``...); outside it, private resources are 404 and writes are 403.
        Anonymous callers may read public resources only.
        """
        installation = self.installation
        if installation is None:
            if private:
                raise not_found()
            if write:
                raise ApiError(401, REQUIRES_AUTHENTICATION)
            return
        if installation.account is not account:
            if private:
                raise not_found()
            if write:
                raise not_accessible()
            return
        if permission is not None and installation.permissions:
            granted = installation.permissions.get(permission)
            if granted is None or (write and granted != "write" and granted != "admin"):
                raise not_accessible()


def _redacted_headers(request: Request) -> dict[str, str]:
    headers = {k.lower(): v for k, v in request.headers.items()}
    if "authorization" in headers:
        headers["authorization"] = headers["authorization"].strip().split(" ", 1)[0]
    return headers


def _request_id() -> str:
    # GitHub's shape, e.g. "C3A4:2B5E:1A2B3C:4D5E6F:65A1B2C3".
    return ":".join(secrets.token_hex(4)[:n].upper() for n in (4, 4, 6, 6, 8))


def _etag(body: bytes) -> str:
    return 'W/"' + hashlib.sha256(body).hexdigest()[:40] + '"'


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


async def _answer(
    fake: FakeGitHubState, request: Request, handler: Handler, auth: Auth
) -> Response:
    now = fake.now()
    request_id = _request_id()
    raw = await request.body()
    body: Any = None
    parse_failed = False
    if raw:
        try:
            body = json.loads(raw)
        except ValueError:
            parse_failed = True
    record = RecordedRequest(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        headers=_redacted_headers(request),
        json=body,
        time=now,
    )
    fake.requests.append(record)
    resource = "graphql" if request.url.path == "/graphql" else "core"
    window = None
    counted = request.url.path != "/rate_limit"
    try:
        if not request.headers.get("user-agent"):
            raise ApiError(403, USER_AGENT_MESSAGE)
        caller = _access.authenticate(fake, request.headers.get("authorization"), now)
        if auth == "app" and not isinstance(caller, AppCaller):
            raise ApiError(401, REQUIRES_AUTHENTICATION if caller is None else JWT_REQUIRED)
        if auth == "installation" and isinstance(caller, AppCaller):
            raise not_accessible()
        window = _access.rate_window(fake, caller, resource, now)
        fault = _access.take_fault(fake, request.method, request.url.path)
        if fault is not None:
            counted = False
            raise fault_error(
                fault,
                now=now,
                request_id=request_id,
                limit=window.limit,
                resource=resource,
                who=_access.caller_description(fake, caller),
            )
        if counted and window.remaining == 0:
            counted = False
            raise _access.primary_limit(fake, window, caller, resource)
        if parse_failed:
            raise ApiError(400, "Problems parsing JSON")
        call = Call(
            fake=fake,
            method=request.method,
            path=request.url.path,
            path_params=request.path_params,
            query=dict(request.query_params),
            json=body,
            caller=caller,
            api=str(request.base_url).rstrip("/"),
            now=now,
        )
        reply = await handler(call)
    except ApiError as error:
        reply = error.reply()
    headers: dict[str, str] = {
        "date": email.utils.formatdate(now, usegmt=True),
        "x-github-request-id": request_id,
        "x-github-media-type": "github.v3; format=json",
    }
    content = b""
    if reply.body is not None:
        content = json.dumps(reply.body).encode("utf-8")
        headers["content-type"] = "application/json; charset=utf-8"
    status = reply.status
    if request.method == "GET" and status == 200:
        etag = _etag(content)
        headers["etag"] = etag
        if _etag_matches(request.headers.get("if-none-match"), etag):
            # GitHub: "Making a conditional request does not count against your primary rate limit
            # if a 304 response is returned."
            status, content, counted = 304, b"", False
            headers.pop("content-type", None)
    if window is not None:
        if counted:
            window.used += 1
        headers.update(window.headers(resource))
    headers.update(reply.headers)
    record.status = status
    return Response(content=content, status_code=status, headers=headers)


def api_route(
    fake: FakeGitHubState, method: str, path: str, handler: Handler, *, auth: Auth
) -> Route:
    """A Starlette route that runs ``handler`` through the fake's request pipeline."""

    async def endpoint(request: Request) -> Response:
        return await _answer(fake, request, handler, auth)

    return Route(path, endpoint, methods=[method], name=f"{method} {path}")


ALL_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def fallback_route(fake: FakeGitHubState) -> Route:
    """Everything no route claims: GitHub's JSON 404, still recorded, rate limited and faultable."""

    async def unknown(call: Call) -> Reply:
        raise not_found()

    async def endpoint(request: Request) -> Response:
        return await _answer(fake, request, unknown, "any")

    return Route("/{path:path}", endpoint, methods=ALL_METHODS, name="fallback")
