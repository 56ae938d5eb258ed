"""GitHub account and repository names as payloads carry them, checked before they reach a URL.

GitHub never sends an empty name, ``.`` or ``..``, or one with a ``/`` in it; the library refuses such
a value in a URL path (:func:`snekomatic.gh.sansio.expand_url`). A payload carrying one is malformed:
the features skip it, rather than fail on it at every retry until it becomes a dead letter.
"""

from __future__ import annotations

from typing import TypeGuard

__all__ = ["is_github_name", "split_full_name"]


def is_github_name(value: object) -> TypeGuard[str]:
    """Whether ``value`` can be a login, organization or repository name in a URL path. Pure."""
    return isinstance(value, str) and value not in ("", ".", "..") and "/" not in value


def split_full_name(full_name: object) -> tuple[str, str] | None:
    """``"owner/name"`` as ``("owner", "name")``, or None unless both are :func:`is_github_name`."""
    if not isinstance(full_name, str) or full_name.count("/") != 1:
        return None
    owner, name = full_name.split("/")
    return (owner, name) if is_github_name(owner) and is_github_name(name) else None
