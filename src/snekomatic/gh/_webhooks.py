"""Incoming webhook deliveries: headers and raw body in, a verified :class:`Event` (or just its
:class:`Envelope`) out."""

from __future__ import annotations

import itertools
import re
import sys
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from snekomatic.gh._headers import is_ascii_digits, lowered, parse_content_type
from snekomatic.gh._signatures import verify_signature
from snekomatic.gh.errors import (
    MalformedHeader,
    MalformedPayload,
    MissingHeader,
    PayloadTooLarge,
    UnsupportedMediaType,
)

# "Payloads are capped at 25 MB. If an event generates a larger payload, GitHub will not deliver a
# payload for that webhook event."
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap
WEBHOOK_MAX_BODY_BYTES = 25 * 1024 * 1024

# A delivery is "application/json" or "application/x-www-form-urlencoded" (the body then is
# "payload=<json>"), as chosen in the webhook's settings.
# https://docs.github.com/en/webhooks/using-webhooks/creating-webhooks#creating-a-repository-webhook
_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"
# A form delivery has one field; a few more are tolerated, an unbounded number is not parsed.
_FORM_MAX_FIELDS = 16

# X-GitHub-Delivery is a GUID ("72d3162e-cc78-11e3-81ab-4c9367dc0958", 36 characters) and the
# inbox's idempotency key, stored and indexed as text: a value no index can hold would be refused
# by the database at every attempt, so the envelope refuses it first. Room is left for other forms.
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
DELIVERY_ID_MAX_LENGTH = 200
_DELIVERY_ID_CHARS = frozenset(chr(c) for c in range(0x21, 0x7F))  # visible ASCII
# Ids (installation, hook) are kept in signed 64-bit columns, as GitHub's own ids are 64-bit.
MAX_ID = 2**63 - 1
# Both JSON decoders recurse once per level, so without a limit of its own a body nested near the
# interpreter's recursion limit would be accepted or refused depending on how deep the caller's
# stack is: the receiver could accept what a worker (deeper in its stack) can never decode. GitHub's
# payloads nest about ten levels; this leaves room for user-supplied JSON (a repository_dispatch
# client_payload) and far more stack than any caller uses below sys.getrecursionlimit() (1000).
MAX_JSON_NESTING = 256


@dataclass(frozen=True, kw_only=True)
class Envelope:
    """What routing or storing a verified webhook delivery needs, without its decoded payload.

    ``event`` is ``X-GitHub-Event`` (``"pull_request"``), ``action`` the payload's ``action`` when it
    is a string, ``delivery_id`` ``X-GitHub-Delivery`` (kept by GitHub on redelivery, so it is the
    idempotency key), ``hook_id`` ``X-GitHub-Hook-ID`` when it is an integer, and ``installation_id``
    ``payload["installation"]["id"]`` when present.
    """

    event: str
    action: str | None
    delivery_id: str
    hook_id: int | None
    installation_id: int | None


@dataclass(frozen=True, kw_only=True)
class Event(Envelope):
    """One verified webhook delivery: its :class:`Envelope` and ``payload``, the decoded JSON object."""

    payload: dict[str, Any]


def parse_webhook(headers: Mapping[str, str], body: bytes, secrets: Sequence[bytes]) -> Event:
    """Verify and decode one delivery from its request ``headers`` and raw ``body``.

    Header names are matched case-insensitively. The checks run in this order, so that a request
    without a valid signature learns nothing but its size being acceptable:

    1. ``len(body) > WEBHOOK_MAX_BODY_BYTES`` -> :class:`~snekomatic.gh.errors.PayloadTooLarge` (413);
    2. ``X-Hub-Signature-256`` verified over the raw bytes with :func:`verify_signature` against any of
       ``secrets`` -> :class:`~snekomatic.gh.errors.InvalidSignature` (401). A request carrying only the
       sha1 ``X-Hub-Signature`` is rejected;
    3. ``X-GitHub-Event`` and ``X-GitHub-Delivery`` present and non-empty ->
       :class:`~snekomatic.gh.errors.MissingHeader` (400); ``X-GitHub-Delivery`` at most
       :data:`DELIVERY_ID_MAX_LENGTH` visible ASCII characters ->
       :class:`~snekomatic.gh.errors.MalformedHeader` (400);
    4. ``Content-Type`` ``application/json`` or ``application/x-www-form-urlencoded`` (parameters such
       as ``charset`` ignored) -> :class:`~snekomatic.gh.errors.UnsupportedMediaType` (415);
    5. the body (or the form's single ``payload`` field) is a JSON object in UTF-8 ->
       :class:`~snekomatic.gh.errors.MalformedPayload` (400). JSON between systems "MUST be encoded
       using UTF-8" (RFC 8259, 8.1), so a byte order mark, another encoding, or an escaped lone
       surrogate (``"\\ud800"``, which no UTF-8 text can hold) is malformed too; numbers beyond a
       double's range decode as infinities, as Python's ``json`` does, and an integer longer than
       the interpreter converts (``sys.get_int_max_str_digits()``, 4300 digits by default) is
       malformed, as is JSON nested more than :data:`MAX_JSON_NESTING` arrays and objects deep
       (whatever the caller's stack depth). ``installation.id``, when an integer, must be between 1
       and :data:`MAX_ID` (a signed 64-bit integer) ->
       :class:`~snekomatic.gh.errors.MalformedPayload` (400) too.

    Returns the :class:`Event`. Raises only those :class:`~snekomatic.gh.errors.WebhookError`
    subclasses. Handles the webhook secrets, which never appear in a message. Pure: not a checkpoint.
    """
    _verify(headers, body, secrets)
    return decode_webhook(headers, body)


def parse_webhook_envelope(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[bytes]
) -> Envelope:
    """:func:`parse_webhook` for a receiver that stores a delivery to process it later.

    The same checks in the same order, with the same exceptions, and it accepts exactly the
    deliveries :func:`parse_webhook` accepts (so :func:`decode_webhook` can always decode what it
    let through); but it builds only the :class:`Envelope`. The whole body is still validated as
    JSON, without making Python objects of what the envelope does not need: several times faster
    on GitHub's payloads, and almost nothing for the garbage collector. Pure: not a checkpoint.
    """
    _verify(headers, body, secrets)
    return decode_webhook_envelope(headers, body)


def decode_webhook_envelope(headers: Mapping[str, str], body: bytes) -> Envelope:
    """:func:`parse_webhook_envelope` for a body whose signature was already verified (a receiver
    that checked it as the body streamed in, with :class:`~snekomatic.gh.sansio.SignatureVerifier`).

    Steps 3 to 5 of :func:`parse_webhook`, as :func:`decode_webhook` does them, but it builds only
    the :class:`Envelope`. Never call it on a body nobody verified. Pure: not a checkpoint.
    """
    by_name = lowered(headers)
    event, delivery_id = _required_headers(by_name)
    fields = _envelope_fields(_json_text(by_name.get("content-type"), body))
    return Envelope(
        event=event,
        action=_action(fields.action),
        delivery_id=delivery_id,
        hook_id=_hook_id(by_name.get("x-github-hook-id")),
        installation_id=_installation_id(fields.installation),
    )


def decode_webhook(headers: Mapping[str, str], body: bytes) -> Event:
    """Decode a delivery whose signature was already verified, e.g. one read back from storage.

    The same rules as steps 3 to 5 of :func:`parse_webhook` (which calls this after verifying), with
    the same exceptions; it never looks at a signature. Never call it on a request straight from
    the network: that is what :func:`parse_webhook` is for. Pure: not a checkpoint.
    """
    by_name = lowered(headers)
    event, delivery_id = _required_headers(by_name)
    payload = _json_object(_json_text(by_name.get("content-type"), body))
    return Event(
        event=event,
        action=_action(payload.get("action")),
        delivery_id=delivery_id,
        hook_id=_hook_id(by_name.get("x-github-hook-id")),
        installation_id=_installation_id(payload.get("installation")),
        payload=payload,
    )


def _verify(headers: Mapping[str, str], body: bytes, secrets: Sequence[bytes]) -> None:
    if len(body) > WEBHOOK_MAX_BODY_BYTES:
        raise PayloadTooLarge(f"body of {len(body)} bytes exceeds {WEBHOOK_MAX_BODY_BYTES}")
    verify_signature(body, lowered(headers).get("x-hub-signature-256"), secrets)


def _required_headers(by_name: Mapping[str, str]) -> tuple[str, str]:
    event = by_name.get("x-github-event")
    if not event:
        raise MissingHeader("X-GitHub-Event")
    delivery_id = by_name.get("x-github-delivery")
    if not delivery_id:
        raise MissingHeader("X-GitHub-Delivery")
    if len(delivery_id) > DELIVERY_ID_MAX_LENGTH:
        raise MalformedHeader(
            "X-GitHub-Delivery", f"is longer than {DELIVERY_ID_MAX_LENGTH} characters"
        )
    if not _DELIVERY_ID_CHARS.issuperset(delivery_id):
        raise MalformedHeader("X-GitHub-Delivery", "has characters other than visible ASCII")
    return event, delivery_id


def _json_text(content_type: str | None, body: bytes) -> bytes:
    """The payload's JSON text: the body itself, or the form's ``payload`` field."""
    media_type, _ = parse_content_type(content_type)
    if media_type == _JSON:
        raw = body
    elif media_type == _FORM:
        raw = _form_payload_field(body)
    else:
        raise UnsupportedMediaType(content_type)
    if _nested_too_deeply(raw):
        raise MalformedPayload(f"the payload is nested more than {MAX_JSON_NESTING} levels deep")
    return raw


_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_NESTING_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _nested_too_deeply(raw: bytes) -> bool:
    """Whether valid JSON ``raw`` nests deeper than ``MAX_JSON_NESTING`` (for invalid JSON the
    answer does not matter: the decoders refuse it either way)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_JSON_NESTING:  # the usual case: no scan
        return False
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    steps = map(_NESTING_STEP.__getitem__, brackets)
    return max(itertools.accumulate(steps), default=0) > MAX_JSON_NESTING


def _form_payload_field(body: bytes) -> bytes:
    try:
        fields = urllib.parse.parse_qs(
            body.decode("ascii"),
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=_FORM_MAX_FIELDS,
        )
    except ValueError as exc:  # UnicodeDecodeError included
        raise MalformedPayload(
            "the form body is not valid application/x-www-form-urlencoded"
        ) from exc
    values = fields.get("payload", [])
    if len(values) != 1:
        raise MalformedPayload("the form body must carry exactly one 'payload' field")
    return values[0].encode("utf-8")


# One JSON decoder (msgspec) for every webhook body, so that what a receiver accepts is exactly what a
# worker can decode later. Over Python's json: about twice as fast for the whole payload, and it
# can validate a body while building only the fields asked for (the envelope), about seven times.
# float_hook keeps json's answer (an infinity) for numbers beyond a double, which msgspec refuses.
_PAYLOAD_DECODER = msgspec.json.Decoder(float_hook=float)


class _EnvelopeFields(msgspec.Struct):
    action: Any = None
    installation: Any = None


_ENVELOPE_DECODER = msgspec.json.Decoder(_EnvelopeFields, float_hook=float)

# The two decoders disagree in one known place: an integer longer than the interpreter's
# int-from-string limit (sys.get_int_max_str_digits(), 4300 by default; the smallest limit it can
# be set to is str_digits_check_threshold, 640) fails only when it is built, and the envelope
# decoder skips the fields it does not keep without building them. A body with a run of that
# many digits anywhere (rare: nothing GitHub sends has one) is judged by the payload decoder.
# (Found as a run of "0" once every digit is made a "0": ~20 times faster than a regex scan.)
_DIGITS_AS_ZEROS = bytes.maketrans(b"0123456789", b"0000000000")
_LONG_DIGIT_RUN = b"0" * sys.int_info.str_digits_check_threshold


def _may_hold_a_too_long_integer(raw: bytes) -> bool:
    return len(raw) >= len(_LONG_DIGIT_RUN) and _LONG_DIGIT_RUN in raw.translate(_DIGITS_AS_ZEROS)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        decoded = _PAYLOAD_DECODER.decode(raw)
    except msgspec.ValidationError as exc:  # valid JSON, but an integer Python will not build
        raise MalformedPayload(f"the payload cannot be decoded: {exc}") from exc
    except (ValueError, RecursionError) as exc:  # msgspec's DecodeError and UnicodeDecodeError too
        raise MalformedPayload("the payload is not valid JSON") from exc
    if not isinstance(decoded, dict):
        raise MalformedPayload(f"the payload is a JSON {type(decoded).__name__}, not an object")
    return decoded


def _envelope_fields(raw: bytes) -> _EnvelopeFields:
    try:
        # The envelope decoder skips the strings it does not keep without checking their UTF-8;
        # the payload decoder checks every string, so check here what it would.
        raw.decode("utf-8")
        fields = _ENVELOPE_DECODER.decode(raw)
    except (ValueError, RecursionError):
        pass
    else:
        if not _may_hold_a_too_long_integer(raw):
            return fields
    # Refused (a bad body, or a top-level value that is not an object): the payload decoder
    # raises the precise MalformedPayload, or, were the two ever to disagree, its answer stands.
    payload = _json_object(raw)
    return _EnvelopeFields(action=payload.get("action"), installation=payload.get("installation"))


def _action(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _hook_id(value: str | None) -> int | None:
    if value is None or not is_ascii_digits(value) or len(value) > 20:
        return None
    hook_id = int(value)
    return hook_id if hook_id <= MAX_ID else None


def _installation_id(installation: object) -> int | None:
    if not isinstance(installation, dict):
        return None
    installation_id = installation.get("id")
    if not isinstance(installation_id, int) or isinstance(installation_id, bool):
        return None
    if not 0 < installation_id <= MAX_ID:
        # Never storable, never an installation: refused for good, not "retry later".
        raise MalformedPayload("installation.id is not an integer between 1 and 2**63 - 1")
    return installation_id
