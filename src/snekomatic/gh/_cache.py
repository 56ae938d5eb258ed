"""A bounded cache of GET answers for conditional requests (ETag / Last-Modified).

GitHub does not count a ``304 Not Modified`` answer against the primary rate limit, so re-reading an
unchanged resource with ``If-None-Match`` is free:
https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, NamedTuple, final

__all__ = ["CacheKey", "CachedResponse", "ResponseCache"]

DEFAULT_MAX_ENTRIES: Final = 1024
DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024


class CacheKey(NamedTuple):
    """What makes two GETs interchangeable.

    ``scope`` names whose credentials fetched the answer (an installation id, a hash): never the
    credential itself. GitHub varies its answers on ``Accept`` and ``Authorization``.
    """

    method: str
    url: str
    accept: str
    scope: str


@dataclass(frozen=True, kw_only=True)
class CachedResponse:
    """A stored answer: its validators, and what the client needs to rebuild it on a 304."""

    etag: str | None
    last_modified: str | None
    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def conditional_headers(self) -> dict[str, str]:
        """The ``If-None-Match`` / ``If-Modified-Since`` headers that revalidate this answer."""
        headers: dict[str, str] = {}
        if self.etag is not None:
            headers["If-None-Match"] = self.etag
        if self.last_modified is not None:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@final
class ResponseCache:
    """A least-recently-used map of :class:`CacheKey` to :class:`CachedResponse`, bounded in entries.

    Only answers that carry a validator (``etag`` or ``last-modified``) and whose body is at most
    ``max_body_bytes`` are kept, so the memory used stays under roughly
    ``max_entries * max_body_bytes``. Not thread-safe; safe to share between tasks of one event loop
    (no method awaits).
    """

    def __init__(
        self,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_entries < 1:
            raise ValueError("ResponseCache needs room for at least one entry")
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self._entries: OrderedDict[CacheKey, CachedResponse] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"ResponseCache(entries={len(self)}, max_entries={self.max_entries})"

    def keys(self) -> list[CacheKey]:
        """The keys held, least recently used first (for introspection; holds no credentials)."""
        return list(self._entries)

    def get(self, key: CacheKey) -> CachedResponse | None:
        """The stored answer for ``key`` (marking it recently used), or None."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def store(self, key: CacheKey, status: int, headers: Mapping[str, str], body: bytes) -> bool:
        """Keep an answer if it has a validator and fits; evict the least recently used beyond the bound.

        ``headers`` must have lower-case names. Returns whether the answer was stored. An answer without
        a validator removes any older entry for ``key``, which could no longer be revalidated.
        """
        etag = headers.get("etag")
        last_modified = headers.get("last-modified")
        if (etag is None and last_modified is None) or len(body) > self.max_body_bytes:
            self._entries.pop(key, None)
            return False
        self._entries[key] = CachedResponse(
            etag=etag,
            last_modified=last_modified,
            status=status,
            headers=dict(headers),
            body=body,
        )
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True
