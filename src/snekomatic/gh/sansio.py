"""The rules of GitHub's webhooks and REST API as pure functions: bytes and headers in, values out.

Nothing here reads the clock, the environment, a file or a socket, and nothing logs: the current time is
an argument wherever a rule needs it (the style of h11 and gidgethub's ``sansio``). Nothing here is a
checkpoint. The implementation is split by responsibility into private modules:

    _signatures   X-Hub-Signature-256
    _webhooks     a delivery's headers and body -> Event (or only its Envelope)
    _jwt          app JWT claims, RS256, clock-skew rejections and the server's clock
    _links        Link headers (RFC 8288) and pagination
    _ratelimits   x-ratelimit-*, retry-after, GitHub's pacing numbers
    _responses    error responses -> the typed exceptions of snekomatic.gh.errors
    _answers      an answer and its body decoded by Content-Type (JSON, text in its charset, or bytes)
    _urls         URL templates on the configured origin
    _requests     request headers, Authorization parsing
    _headers      case-insensitive header lookup, HTTP-dates (shared by the above)
"""

from __future__ import annotations

from snekomatic.gh._jwt import JWT_BACKDATE_SECONDS as JWT_BACKDATE_SECONDS
from snekomatic.gh._jwt import JWT_LIFETIME_SECONDS as JWT_LIFETIME_SECONDS
from snekomatic.gh._jwt import app_jwt_claims as app_jwt_claims
from snekomatic.gh._jwt import check_app_private_key as check_app_private_key
from snekomatic.gh._jwt import encode_app_jwt as encode_app_jwt
from snekomatic.gh._jwt import is_clock_skew_rejection as is_clock_skew_rejection
from snekomatic.gh._jwt import server_clock_offset as server_clock_offset
from snekomatic.gh._links import Link as Link
from snekomatic.gh._links import format_link_header as format_link_header
from snekomatic.gh._links import next_page_url as next_page_url
from snekomatic.gh._links import parse_link_header as parse_link_header
from snekomatic.gh._ratelimits import SECONDARY_RATE_LIMIT_MIN_WAIT as SECONDARY_RATE_LIMIT_MIN_WAIT
from snekomatic.gh._ratelimits import WRITE_INTERVAL_SECONDS as WRITE_INTERVAL_SECONDS
from snekomatic.gh._ratelimits import RateLimit as RateLimit
from snekomatic.gh._ratelimits import parse_retry_after as parse_retry_after
from snekomatic.gh._requests import ACCEPT as ACCEPT
from snekomatic.gh._requests import API_VERSION as API_VERSION
from snekomatic.gh._requests import parse_authorization as parse_authorization
from snekomatic.gh._requests import request_headers as request_headers
from snekomatic.gh._responses import error_for_response as error_for_response
from snekomatic.gh._signatures import SignatureVerifier as SignatureVerifier
from snekomatic.gh._signatures import signature_for as signature_for
from snekomatic.gh._signatures import verify_signature as verify_signature
from snekomatic.gh._urls import expand_url as expand_url
from snekomatic.gh._webhooks import WEBHOOK_MAX_BODY_BYTES as WEBHOOK_MAX_BODY_BYTES
from snekomatic.gh._webhooks import Envelope as Envelope
from snekomatic.gh._webhooks import Event as Event
from snekomatic.gh._webhooks import decode_webhook as decode_webhook
from snekomatic.gh._webhooks import decode_webhook_envelope as decode_webhook_envelope
from snekomatic.gh._webhooks import parse_webhook as parse_webhook
from snekomatic.gh._webhooks import parse_webhook_envelope as parse_webhook_envelope

__all__ = [
    "ACCEPT",
    "API_VERSION",
    "JWT_BACKDATE_SECONDS",
    "JWT_LIFETIME_SECONDS",
    "SECONDARY_RATE_LIMIT_MIN_WAIT",
    "WEBHOOK_MAX_BODY_BYTES",
    "WRITE_INTERVAL_SECONDS",
    "Envelope",
    "Event",
    "Link",
    "RateLimit",
    "SignatureVerifier",
    "app_jwt_claims",
    "check_app_private_key",
    "decode_webhook",
    "decode_webhook_envelope",
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
    "parse_webhook_envelope",
    "request_headers",
    "server_clock_offset",
    "signature_for",
    "verify_signature",
]
