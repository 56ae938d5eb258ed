"""Logging with structlog: a readable line per event at a terminal, one JSON object per line
elsewhere (Heroku, containers, files), secrets redacted either way.

Redaction is the last line of defence, not the first: no code logs a secret on purpose. It catches the
shapes secrets take (PEM blocks, GitHub tokens, JWTs, Authorization values) in any string value.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

import structlog

__all__ = [
    "REDACTED",
    "SECRET_SHAPES",
    "collecting_decisions",
    "configure_logging",
    "note_decision",
    "redact",
    "redact_event",
]

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


# What the handlers decided for the delivery being processed. A list, so that tasks started while
# collecting (each gets a copy of the context, holding the same list) add to it too.
_decisions: ContextVar[list[str] | None] = ContextVar("snekomatic_decisions", default=None)


@contextmanager
def collecting_decisions() -> Iterator[list[str]]:
    """Collect what :func:`note_decision` is told within the block, and in tasks started in it."""
    decisions: list[str] = []
    token = _decisions.set(decisions)
    try:
        yield decisions
    finally:
        _decisions.reset(token)


def note_decision(decision: str, **why: object) -> None:
    """Say what the bot decided and why, e.g. ``note_decision("not invited", reason="already a
    member")``: while a delivery is processed, it goes into that delivery's one log line
    (``decision="not invited (reason=already a member)"``); elsewhere (a backfill, a sweep) it is
    logged at INFO on its own."""
    text = decision
    if why:
        text += " (" + ", ".join(f"{key}={value}" for key, value in why.items()) + ")"
    decisions = _decisions.get()
    if decisions is None:
        structlog.get_logger("snekomatic").info("decided", decision=text)
    else:
        decisions.append(text)


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
    """Send logs to ``stream`` (stderr) at ``level``: one JSON object per line (``json``), or one
    line for a person (structlog's console renderer, in colour at a terminal). ``json`` None: JSON
    unless ``stream`` is a terminal.

    structlog's lines, and standard logging's (the ``snekomatic.gh`` library logs there, one DEBUG line
    per GitHub call), go through the same processors, redaction included. Other libraries log at
    INFO and above only: their DEBUG output (HTTP/2 header dumps, say) could hold credentials.
    """
    out = stream or sys.stderr
    as_json = (not out.isatty()) if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
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
