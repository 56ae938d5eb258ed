"""What the fake's route handlers return, and the GitHub-shaped error answers they raise.

Handlers return a :class:`Reply` (status, JSON body, extra headers) or raise :class:`ApiError`; the request
pipeline (``_pipeline``) turns either into an HTTP response and adds the headers every answer carries.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from snekomatic.gh.sansio import Link, format_link_header

DOCS = "https://docs.github.com/rest"


@dataclass
class Reply:
    """A handler's answer. ``body`` None means no body (204, 304)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """Raised by handlers to answer with GitHub's error shape ``{"message", "documentation_url"}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        documentation_url: str = DOCS,
    ) -> None:
        super().__init__(status, message)
        self.status = status
        self.message = message
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers or {})
        self.documentation_url = documentation_url

    def reply(self) -> Reply:
        body: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            body["errors"] = self.errors
        body["documentation_url"] = self.documentation_url
        return Reply(self.status, body, dict(self.headers))


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def bad_credentials() -> ApiError:
    return ApiError(401, "Bad credentials")


def not_accessible() -> ApiError:
    # What GitHub answers when an installation token lacks a permission or reaches outside its account.
    return ApiError(403, "Resource not accessible by integration")


def validation_failed(
    resource: str, *, code: str, field: str, message: str | None = None
) -> ApiError:
    error: dict[str, Any] = {"resource": resource, "code": code, "field": field}
    if message is not None:
        error["message"] = message
    return ApiError(422, "Validation Failed", errors=[error])


def iso8601(epoch: float) -> str:
    """GitHub's timestamp format, ``2019-05-15T15:20:33Z`` (UTC, whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))


def page_params(
    query: Mapping[str, str], *, default: int = 30, maximum: int = 100
) -> tuple[int, int]:
    """``(per_page, page)`` from a query, with GitHub's defaults and cap; 422 for non-integers."""
    try:
        per_page = int(query.get("per_page", default))
        page = int(query.get("page", 1))
    except ValueError:
        raise validation_failed("Pagination", code="invalid", field="page") from None
    return max(1, min(per_page, maximum)), max(1, page)


def format_links(links: Sequence[tuple[str, str]]) -> str:
    """A ``Link`` header value from ``(url, rel)`` pairs (RFC 8288), by ``sansio.format_link_header``."""
    return format_link_header(Link(url=url, params={"rel": rel}) for url, rel in links)


def paginate(
    items: Sequence[Any], *, url: str, query: Mapping[str, str]
) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and the headers (``Link``) GitHub would send with it.

    ``url`` is the absolute URL of the request without its query; links keep the other query parameters
    and carry absolute URLs, as GitHub's do. Orders ``prev, next, last, first`` like GitHub.
    """
    per_page, page = page_params(query)
    last = max(1, -(-len(items) // per_page))
    chunk = list(items[(page - 1) * per_page : page * per_page])

    def page_url(number: int) -> str:
        params = {k: v for k, v in query.items() if k != "page"}
        params["per_page"] = str(per_page)
        params["page"] = str(number)
        return f"{url}?{urllib.parse.urlencode(params)}"

    links: list[tuple[str, str]] = []
    if page > 1:
        links.append((page_url(min(page - 1, last)), "prev"))
    if page < last:
        links.append((page_url(page + 1), "next"))
        links.append((page_url(last), "last"))
    if page > 1:
        links.append((page_url(1), "first"))
    return chunk, ({"link": format_links(links)} if links else {})
