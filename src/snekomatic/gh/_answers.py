"""An API answer as the client keeps it, and how its body is decoded for the caller."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Answer"]


@dataclass(frozen=True)
class Answer:
    """One HTTP answer: status, headers (lower-case names) and the raw body."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes

    def decoded(self) -> Any:
        """The body for the caller: JSON (``application/json`` or ``*+json``) decoded, other ``text/*``
        as ``str`` (its charset if Python knows it, else UTF-8, undecodable bytes replaced), anything else as ``bytes``; an
        empty body or a 204 as None. Raises ``ValueError`` for a JSON content type with a malformed body.
        """
        if self.status == 204 or not self.body:
            return None
        media_type, _, params = self.headers.get("content-type", "").partition(";")
        media_type = media_type.strip().lower()
        if media_type == "application/json" or media_type.endswith("+json"):
            return json.loads(self.body)
        if media_type.startswith("text/"):
            charset = params.partition("charset=")[2].strip().strip('"') or "utf-8"
            try:
                return self.body.decode(charset, errors="replace")
            except LookupError:  # a charset Python does not know
                return self.body.decode("utf-8", errors="replace")
        return self.body
