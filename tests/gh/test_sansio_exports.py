"""gh.sansio's public surface is exactly the brief's, and its private modules do no I/O either."""

from __future__ import annotations

import ast
from pathlib import Path

import snekomatic.gh.sansio as sansio

SANSIO_MODULES = [
    "_headers",
    "_jwt",
    "_links",
    "_ratelimits",
    "_requests",
    "_responses",
    "_signatures",
    "_urls",
    "_webhooks",
]
IO_MODULES = {"httpx", "anyio", "trio", "socket", "os", "time", "logging", "structlog", "pathlib"}
PUBLIC_API = {
    "ACCEPT",
    "API_VERSION",
    "JWT_BACKDATE_SECONDS",
    "JWT_LIFETIME_SECONDS",
    "SECONDARY_RATE_LIMIT_MIN_WAIT",
    "WEBHOOK_MAX_BODY_BYTES",
    "WRITE_INTERVAL_SECONDS",
    "Envelope",  # added for the inbox: what storing a delivery needs, without decoding its payload
    "Event",
    "Link",
    "RateLimit",
    "SignatureVerifier",  # added for the web endpoint: verify a body as it streams in
    "app_jwt_claims",
    "decode_webhook",  # added to the brief's list for the inbox: decoding a stored, verified delivery
    "encode_app_jwt",
    "error_for_response",
    "expand_url",
    "format_link_header",
    "is_clock_skew_rejection",
    "next_page_url",
    "parse_authorization",
    "parse_link_header",
    "parse_retry_after",
    "parse_webhook",
    "parse_webhook_envelope",  # added for the inbox, as Envelope
    "decode_webhook_envelope",  # for a receiver that verified the body as it streamed in
    "request_headers",
    "server_clock_offset",
    "signature_for",
    "verify_signature",
}


def _top_level_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_all_is_exactly_the_documented_api() -> None:
    assert set(sansio.__all__) == PUBLIC_API


def test_every_public_name_is_exported() -> None:
    public = {name for name in vars(sansio) if not name.startswith("_") and name != "annotations"}

    assert public == PUBLIC_API


def test_private_sansio_modules_do_no_io() -> None:
    gh_dir = Path(sansio.__file__).parent
    offenders = {
        f"{module}: {name}"
        for module in SANSIO_MODULES
        for name in _top_level_imports(gh_dir / f"{module}.py") & IO_MODULES
    }

    assert offenders == set()
