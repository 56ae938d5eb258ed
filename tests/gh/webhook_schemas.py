"""Validate a webhook payload against octokit/webhooks' JSON schema for its event and action.

Tests only: the library never depends on jsonschema. The schemas refer to each other with relative
``$ref``s ("common/user.schema.json", and "user.schema.json" from inside common/); each schema's
``$id`` is its relative path (or ``event$action`` for the top-level ones), so resolving a ``$ref``
against the ``$id`` of the schema that holds it lands on a key of the registry below.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft7Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from tests.payloads import PAYLOAD_SCHEMAS

_format_checker = FormatChecker()
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    # jsonschema skips "date-time" unless an optional package is installed; check it here instead.
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@_format_checker.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path)


@cache
def _registry() -> Registry[Any]:
    resources: list[tuple[str, Resource[Any]]] = []
    for path in PAYLOAD_SCHEMAS.rglob("*.schema.json"):
        contents = json.loads(path.read_text())
        resource = DRAFT7.create_resource(contents)
        resources.append((path.relative_to(PAYLOAD_SCHEMAS).as_posix(), resource))
        if "$id" in contents:
            resources.append((contents["$id"], resource))
    return Registry().with_resources(resources)


def schema_path(event: str, action: str | None) -> str:
    """The schema's path under PAYLOAD_SCHEMAS: ``pull_request/closed.schema.json``,
    ``ping/event.schema.json`` for events without actions."""
    return f"{event}/{action or 'event'}.schema.json"


def schema_errors(event: str, payload: dict[str, Any]) -> list[str]:
    """Every way ``payload`` breaks the schema for ``event`` and its ``action`` (empty when valid)."""
    path = schema_path(event, payload.get("action"))
    schema = _registry().contents(path)
    validator = Draft7Validator(schema, registry=_registry(), format_checker=_format_checker)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message[:300]}"
        for error in sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.path)))
    ]


def assert_valid_webhook(event: str, payload: dict[str, Any]) -> None:
    """Fail with every schema violation listed when ``payload`` is not a valid ``event`` body."""
    errors = schema_errors(event, payload)
    assert not errors, "\n".join(errors)
