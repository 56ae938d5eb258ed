"""Scans everything the test suite logged for secrets (issue 4: no key, secret, token or JWT in logs).

tests/conftest.py sends all structlog output, and stdlib logging at INFO (what production emits), to
:data:`CAPTURED`; at the end of the session :func:`find_leaks` runs over it and any finding fails the run.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from snekomatic.logs import SECRET_SHAPES

CAPTURED = io.StringIO()
KNOWN_SECRETS: set[str] = set()

# Shorter strings ("s", "secret") are common words in logs; only distinctive values are looked for.
_MIN_SECRET_LENGTH = 12


def remember_secret(value: str) -> None:
    """Look for ``value`` (or, for a PEM key, each of its base64 lines) in the captured logs."""
    for line in value.splitlines() or [value]:
        line = line.strip()
        if len(line) >= _MIN_SECRET_LENGTH and not line.startswith("-----"):
            KNOWN_SECRETS.add(line)


def find_leaks(text: str, known_secrets: Iterable[str]) -> list[str]:
    """Descriptions of every secret-shaped string and known secret in ``text`` (values abridged)."""
    leaks = [f"{match.group(0)[:12]}... (secret-shaped)" for match in SECRET_SHAPES.finditer(text)]
    leaks += [
        f"{secret[:6]}... (a known test secret)" for secret in known_secrets if secret in text
    ]
    return leaks
