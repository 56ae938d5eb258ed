"""The real webhook payload examples and schemas from octokit/webhooks (vendored under fixtures/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOKS = FIXTURES / "github-webhooks"
PAYLOAD_EXAMPLES = WEBHOOKS / "payload-examples" / "api.github.com"
PAYLOAD_SCHEMAS = WEBHOOKS / "payload-schemas" / "api.github.com"


def load_payload(event: str, name: str) -> dict[str, Any]:
    """A real payload example from octokit/webhooks, e.g. ``load_payload("pull_request", "closed")``."""
    path = PAYLOAD_EXAMPLES / event / f"{name}.payload.json"
    if not path.exists():
        path = PAYLOAD_EXAMPLES / event / f"{name}.json"
    result: dict[str, Any] = json.loads(path.read_text())
    return result
