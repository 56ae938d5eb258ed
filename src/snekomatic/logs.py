"""Logging with structlog: one JSON object per line when not on a terminal, secrets redacted.

Redaction is the last line of defence, not the first: no code logs a secret on purpose. It catches the
shapes secrets take (PEM blocks, GitHub tokens, JWTs, Authorization values) in any string value.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

__all__ = ["REDACTED", "SECRET_SHAPES", "configure_logging", "redact", "redact_event"]

REDACTED = "[redacted]"
_HANDLER_NAME = "snekomatic"

SECRET_SHAPES = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"  # PEM keys
    r"|\b(?:ghs|ghp|gho|ghu|ghr|github_pat)_[A-Za-z0-9_]{16,}"  # GitHub tokens
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+"  # JWTs
    r"|\b(?:Bearer|token)\s+[A-Za-z0-9_.\-]{16,}"  # Authorization header values
    r"|\bsha(?:1|256)=[0-9a-fA-F]{40,64}",  # webhook signatures
    re.DOTALL,
)


def redact(text: str) -> str:
    """``text`` with anything shaped like a key, token, JWT or signature replaced by ``[redacted]``."""
    return SECRET_SHAPES.sub(REDACTED, text)


def redact_event(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor applying :func:`redact` to every string value (and rendered exception)."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
        elif isinstance(value, BaseException):
            event_dict[key] = redact(f"{type(value).__name__}: {value}")
    return event_dict


def configure_logging(
    level: str = "info", *, json: bool | None = None, stream: TextIO | None = None
) -> None:
    """Send logs to ``stream`` (stderr) at ``level``; JSON unless ``stream`` is a terminal.

    structlog's lines, and standard logging's (the ``snekomatic.gh`` library logs there, one DEBUG line
    per GitHub call), go through the same processors, redaction included. Other libraries log at
    INFO and above only: their DEBUG output (HTTP/2 header dumps, say) could hold credentials.
    """
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, redact_event, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                # Render the traceback to text first, so that redaction sees it.
                structlog.processors.format_exc_info,
                redact_event,
                renderer,
            ],
        )
    )
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(max(numeric_level, logging.INFO))
    logging.getLogger("snekomatic").setLevel(numeric_level)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its INFO lines narrate every start-up
    # httpx logs each request at INFO; the client logs its own DEBUG line per call (with the rate
    # limit), so httpx's would only double them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
