"""Crash reporting to Sentry, when ``SENTRY_DSN`` is set. Every event is scrubbed before it leaves.

Web errors (500s) come through Sentry's Starlette integration; a bad signature is a 4xx and is not an
event. Worker failures are reported by :func:`report_delivery_failure`, tagged with the delivery id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.starlette import StarletteIntegration
from sentry_sdk.transport import Transport

from snekomatic.logs import redact

__all__ = ["init_sentry", "report_delivery_failure", "scrub"]


def scrub(value: Any) -> Any:
    """``value`` (an event, or any part of one) with every string passed through :func:`redact`."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


def _before_send(event: Any, hint: Any) -> Any:
    scrubbed = scrub(event)
    # Request headers are the most likely place for a credential: keep only harmless ones.
    request = scrubbed.get("request")
    if isinstance(request, dict) and isinstance(request.get("headers"), dict):
        request["headers"] = {
            name: value
            for name, value in request["headers"].items()
            if name.lower() in {"content-type", "user-agent", "x-github-event", "x-github-delivery"}
        }
    return scrubbed


def init_sentry(dsn: str | None, *, transport: Transport | None = None) -> bool:
    """Start reporting to Sentry if ``dsn`` is set; True if it did. ``transport`` is for tests."""
    if not dsn:
        return False
    options: dict[str, Any] = {}
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(
        dsn=dsn,
        integrations=[StarletteIntegration()],
        include_local_variables=False,  # locals can hold tokens
        before_send=_before_send,
        **options,
    )
    return True


def report_delivery_failure(
    exc: BaseException, *, delivery_id: str, event: str, last: bool
) -> None:
    """Report a failed delivery attempt, tagged so the delivery can be found and replayed."""
    with sentry_sdk.new_scope() as scope:
        scope.set_tag("delivery_id", delivery_id)
        scope.set_tag("github_event", event)
        scope.set_tag("dead_letter", str(last).lower())
        sentry_sdk.capture_exception(exc)
