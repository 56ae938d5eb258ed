"""An API answer as the client keeps it, and how its body is decoded for the caller."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snekomatic.gh._headers import parse_content_type

__all__ = ["Answer", "decode_text"]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names) and the raw body."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def decoded(self) -> Any:
        """The body for the caller, by its ``Content-Type``:

        - JSON (``application/json`` or ``*+json``, whatever its parameters): the parsed value;
        - a body that declares a ``charset`` (``application/vnd.github.v3.diff; charset=utf-8``), and any
          ``text/*``: ``str``, decoded as :func:`decode_text` does;
        - anything else (``application/vnd.github.raw``, a tarball, no content type): ``bytes``;
        - an empty body or a 204: None.

        Raises ``ValueError`` for a JSON content type with a malformed body.
        """
        if self.status == 204 or not self.body:
            return None
        media_type, charset = parse_content_type(self.headers.get("content-type"))
        if media_type == "application/json" or media_type.endswith("+json"):
            return json.loads(self.body)
        if charset is not None or media_type.startswith("text/"):
            return decode_text(self.body, charset)
        return self.body


def decode_text(body: bytes, charset: str | None) -> str:
    """``body`` as text in ``charset``, undecodable bytes replaced by U+FFFD. UTF-8 when ``charset`` is
    None or names no codec Python can decode text with. Never raises."""
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except (LookupError, ValueError):
        # LookupError: unknown ("x-nope") or not a text encoding ("rot13"); ValueError: a codec that
        # refuses errors="replace" ("idna") or a name Python rejects outright (one with a NUL).
        return body.decode("utf-8", errors="replace")
