"""The features' own exception: a GitHub permission the installation lacks."""

from __future__ import annotations

from typing import final

__all__ = ["MissingPermission"]


@final
class MissingPermission(Exception):
    """The installation lacks a permission a feature needs: retrying cannot help.

    Raised (``from`` GitHub's 403, or a 404 where GitHub hides a resource the app may not see) after one
    log line naming the permission. Contract with the worker boundary: a delivery whose handlers raised
    this (``ExceptionGroup.subgroup(MissingPermission)`` is not None) is reported to Sentry once and
    marked dead, not retried; redeliver it once the organization owner has granted the permission.

    Attributes: ``permission`` (as GitHub's settings page names it, e.g.
    ``"organization members: read & write"``), ``endpoint`` (method and URL template, no values),
    ``account`` (the organization or repository concerned).
    """

    def __init__(self, *, permission: str, endpoint: str, account: str) -> None:
        self.permission = permission
        self.endpoint = endpoint
        self.account = account
        super().__init__(
            f"the app's installation on {account} lacks the permission {permission!r} "
            f"(needed for {endpoint}); grant it in the app's settings, then redeliver"
        )
