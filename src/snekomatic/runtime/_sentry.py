"""Crash reporting to Sentry, when ``SENTRY_DSN`` is set. Every event is scrubbed before it leaves.

Web errors (500s) come through Sentry's Starlette integration; a bad signature is a 4xx and is not an
event. Worker failures are reported by :func:`report_delivery_failure`, tagged with the delivery id,
and failures of periodic jobs by :func:`capture_exception`.

sentry-sdk is imported by :func:`init_sentry`, only when there is a DSN: it costs a long-running process
about 4 MB and 80 ms of start-up. Until then the reporting functions do nothing, as sentry-sdk itself
would with no client.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from snekomatic.logs import redact

if TYPE_CHECKING:
    from sentry_sdk.transport import Transport

__all__ = ["capture_exception", "init_sentry", "report_delivery_failure", "scrub"]

# Set by init_sentry; never unset (sentry-sdk's client lives as long as the process).
_started = False


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
    global _started
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.starlette import StarletteIntegration

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
    _started = True
    return True


def capture_exception(exc: BaseException) -> None:
    """Report ``exc`` to Sentry, if :func:`init_sentry` started it; otherwise do nothing."""
    if not _started:
        return
    import sentry_sdk

    sentry_sdk.capture_exception(exc)


def report_delivery_failure(
    exc: BaseException, *, delivery_id: str, event: str, last: bool
) -> None:
    """Report a failed delivery attempt, tagged so the delivery can be found and replayed; nothing
    unless :func:`init_sentry` started Sentry."""
    if not _started:
        return
    import sentry_sdk

    with sentry_sdk.new_scope() as scope:
        scope.set_tag("delivery_id", delivery_id)
        scope.set_tag("github_event", event)
        scope.set_tag("dead_letter", str(last).lower())
        sentry_sdk.capture_exception(exc)
