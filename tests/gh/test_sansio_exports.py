"""gh.sansio's public surface is exactly the brief's (tests/test_layering.py checks that it does no I/O)."""

from __future__ import annotations

import snekomatic.gh.sansio as sansio

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
    "check_app_private_key",  # added for start-up: a bad key is refused before the first JWT
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


def test_all_is_exactly_the_documented_api() -> None:
    assert set(sansio.__all__) == PUBLIC_API


def test_every_public_name_is_exported() -> None:
    public = {name for name in vars(sansio) if not name.startswith("_") and name != "annotations"}

    assert public == PUBLIC_API
