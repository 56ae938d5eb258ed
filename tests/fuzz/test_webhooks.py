"""Fuzzing the webhook parsers: parse_webhook, parse_webhook_envelope and decode_webhook.

The promises checked (their docstrings): only ``WebhookError`` subclasses are raised; the checks run in
the documented order, so a request without a valid signature only ever learns InvalidSignature; the
envelope parser accepts exactly what parse_webhook accepts, raises the same exceptions, and agrees on
event, action, delivery id, hook id and installation id; the decoded payload is what RFC 8259 JSON
means (Python's ``json`` as the oracle, minus what the docstring refuses on purpose); a form delivery
means the same as the JSON it carries.
"""

from __future__ import annotations

import json
import math
import sys
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import example, given, target
from hypothesis import strategies as st

from snekomatic.gh._webhooks import DELIVERY_ID_MAX_LENGTH, MAX_ID, MAX_JSON_NESTING
from snekomatic.gh.errors import (
    InvalidSignature,
    MalformedHeader,
    MalformedPayload,
    MissingHeader,
    PayloadTooLarge,
    UnsupportedMediaType,
    WebhookError,
)
from snekomatic.gh.sansio import (
    WEBHOOK_MAX_BODY_BYTES,
    Envelope,
    Event,
    decode_webhook,
    parse_webhook,
    parse_webhook_envelope,
    signature_for,
)
from tests.fuzz._support import FUZZ, event_names, mutated_bytes, one_of_seeds, payload_bodies

SECRET = b"fuzz-secret"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"

# --- strategies ----------------------------------------------------------------------------------

_KEYS = st.sampled_from(["action", "installation", "id", "sender", "x", ""]) | st.text(max_size=6)
_INTS = st.sampled_from([0, 1, -1, MAX_ID, MAX_ID + 1, 2**64, -(2**63) - 1, 10**30]) | st.integers()
_STRINGS = st.text(max_size=12) | st.sampled_from(["\ud800", "a\udfff", "\x00", "\u2028", "é"])
_SCALARS = st.none() | st.booleans() | _INTS | st.floats(allow_nan=False) | _STRINGS
_JSON_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=4),
    max_leaves=20,
)


@st.composite
def _json_objects(draw: st.DrawFn) -> dict[str, Any]:
    """Objects shaped like a delivery: sometimes an action, sometimes an installation with an id."""
    obj = draw(st.dictionaries(_KEYS, _JSON_VALUES, max_size=5))
    if draw(st.booleans()):
        obj["action"] = draw(st.sampled_from(["opened", "closed", "created"]) | _JSON_VALUES)
    if draw(st.booleans()):
        obj["installation"] = {"id": draw(_INTS | _JSON_VALUES), "node_id": "x"}
    return obj


@st.composite
def _json_texts(draw: st.DrawFn) -> bytes:
    """A JSON text encoded in one of the ways a sender might (compact, indented, escaped or not)."""
    obj = draw(_json_objects())
    text = json.dumps(
        obj,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.none() | st.integers(0, 2)),
        separators=draw(st.sampled_from([None, (",", ":"), (" , ", " : ")])),
    )
    # surrogatepass: a lone surrogate left unescaped becomes bytes no UTF-8 text can hold
    return text.encode("utf-8", "surrogatepass")


_REAL_BODIES = one_of_seeds(payload_bodies())
_JSON_BODIES = st.one_of(
    _REAL_BODIES,
    mutated_bytes(_REAL_BODIES),
    _json_texts(),
    mutated_bytes(_json_texts()),
    st.binary(max_size=64),
)


def _form(json_text: bytes) -> bytes:
    return urllib.parse.urlencode({"payload": json_text}).encode("ascii")


_FORM_BODIES = st.one_of(
    _JSON_BODIES.map(_form),
    mutated_bytes(_REAL_BODIES.map(_form)),
    st.builds(lambda a, b: a + b"&" + b, _JSON_BODIES.map(_form), st.binary(max_size=16)),
)

_CONTENT_TYPES = st.one_of(
    st.sampled_from(
        [
            JSON,
            FORM,
            "application/json; charset=utf-8",
            "Application/JSON",
            " application/json ",
            "application/json;",
            "application/x-www-form-urlencoded; charset=UTF-8",
            "text/plain",
            "application/jsonx",
            "application/json\x00",
            "",
        ]
    ),
    st.text(max_size=30),
)


def _any_case(draw: st.DrawFn, name: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(name), max_size=len(name)))
    return "".join(c.upper() if flip else c.lower() for c, flip in zip(name, flips, strict=True))


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[dict[str, str], bytes, list[bytes]]:
    """(headers, body, secrets): mostly well-formed and signed, with every part sometimes broken."""
    form = draw(st.booleans())
    body = draw(_FORM_BODIES if form else _JSON_BODIES)
    secrets = draw(
        st.sampled_from([[SECRET], [b"old", SECRET], [SECRET, b""], [], [b""]])
        | st.lists(st.binary(max_size=8), max_size=3)
    )
    signed_with = draw(
        st.sampled_from([*secrets, SECRET, b"other"]) if secrets else st.just(SECRET)
    )
    good = signature_for(body, signed_with)
    signature = draw(
        st.one_of(
            st.just(good),
            st.just("sha256=" + good[len("sha256=") :].upper()),
            st.sampled_from(
                [" " + good, good + "\n", "SHA256=" + good[7:], good[:-1], "sha1=" + good[7:]]
            ),
            st.text(max_size=80),
            st.none(),
        )
    )
    headers: dict[str, str] = {}
    if signature is not None:
        headers[_any_case(draw, "X-Hub-Signature-256")] = signature
    event = draw(st.sampled_from(event_names()) | st.sampled_from(["", " "]) | st.text(max_size=10))
    delivery = draw(
        st.uuids().map(str)
        | st.sampled_from(["", "x" * DELIVERY_ID_MAX_LENGTH, "x" * (DELIVERY_ID_MAX_LENGTH + 1)])
        | st.text(max_size=12)
    )
    for name, value in (("X-GitHub-Event", event), ("X-GitHub-Delivery", delivery)):
        if draw(st.integers(0, 9)):  # absent one time in ten
            headers[_any_case(draw, name)] = value
    if draw(st.booleans()):
        headers["X-GitHub-Hook-ID"] = draw(
            st.integers(0, 2**64).map(str)
            | st.sampled_from([str(MAX_ID), str(MAX_ID + 1), "0" * 25 + "1", "١٢", " 1", "1_0"])
            | st.text(max_size=6)
        )
    content_type = draw(st.sampled_from([FORM if form else JSON]) | _CONTENT_TYPES)
    if draw(st.integers(0, 9)):
        headers[_any_case(draw, "Content-Type")] = content_type
    return headers, body, secrets


# --- helpers -------------------------------------------------------------------------------------


def _outcome(call: Callable[[], Envelope]) -> Envelope | WebhookError:
    """The value returned, or the documented exception raised; any other exception fails the test."""
    try:
        return call()
    except WebhookError as exc:
        return exc


def _envelope_of(value: Envelope | WebhookError) -> object:
    if isinstance(value, WebhookError):
        return type(value)
    return (
        value.event,
        value.action,
        value.delivery_id,
        value.hook_id,
        value.installation_id,
    )


def _signature_is_valid(headers: Mapping[str, str], body: bytes, secrets: Sequence[bytes]) -> bool:
    """The oracle for X-Hub-Signature-256, written from the docs rather than from the code."""
    values = [v for k, v in headers.items() if k.lower() == "x-hub-signature-256"]
    if not values:
        return False
    header = values[-1]
    if not header.startswith("sha256=") or len(header) != 71:
        return False
    given = header[7:]
    if not all(c in "0123456789abcdefABCDEF" for c in given):
        return False
    return any(secret and signature_for(body, secret)[7:] == given.lower() for secret in secrets)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    values = [v for k, v in headers.items() if k.lower() == name]
    return values[-1] if values else None


# --- properties ----------------------------------------------------------------------------------


@FUZZ
@given(deliveries())
def test_envelope_accepts_exactly_what_parse_webhook_accepts(
    delivery: tuple[dict[str, str], bytes, list[bytes]],
) -> None:
    headers, body, secrets = delivery
    full = _outcome(lambda: parse_webhook(headers, body, secrets))
    envelope = _outcome(lambda: parse_webhook_envelope(headers, body, secrets))
    target(float(isinstance(full, Event)), label="accepted")
    assert _envelope_of(envelope) == _envelope_of(full)
    if isinstance(envelope, Envelope):
        assert type(envelope) is Envelope  # not the Event with its decoded payload


@FUZZ
@given(deliveries())
def test_parse_webhook_is_verify_then_decode(
    delivery: tuple[dict[str, str], bytes, list[bytes]],
) -> None:
    """Steps 1-2 (size, signature) come first; a request without a valid signature learns nothing
    else. With a valid one, the answer is decode_webhook's, and a decoded Event keeps its promises."""
    headers, body, secrets = delivery
    full = _outcome(lambda: parse_webhook(headers, body, secrets))
    if not _signature_is_valid(headers, body, secrets):
        assert type(full) is InvalidSignature
        return
    decoded = _outcome(lambda: decode_webhook(headers, body))
    assert type(full) is type(decoded)
    if isinstance(full, WebhookError):
        assert isinstance(
            full, MissingHeader | MalformedHeader | UnsupportedMediaType | MalformedPayload
        )
        return
    assert isinstance(decoded, Event)
    assert full == decoded
    # What an accepted Event promises about its fields.
    assert full.event == _header(headers, "x-github-event")
    assert full.delivery_id == _header(headers, "x-github-delivery")
    assert 1 <= len(full.delivery_id) <= DELIVERY_ID_MAX_LENGTH
    assert all("!" <= c <= "~" for c in full.delivery_id)
    assert isinstance(full.payload, dict)
    action = full.payload.get("action")
    assert full.action == (action if isinstance(action, str) else None)
    installation = full.payload.get("installation")
    raw_id = installation.get("id") if isinstance(installation, dict) else None
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        assert full.installation_id == raw_id
        assert 1 <= raw_id <= MAX_ID
    else:
        assert full.installation_id is None
    hook = _header(headers, "x-github-hook-id")
    if hook is not None and hook.isascii() and hook.isdigit() and int(hook) <= MAX_ID:
        assert full.hook_id == int(hook)
    else:
        assert full.hook_id is None


def _reject_constant(name: str) -> Any:
    # Python's json takes NaN and Infinity; RFC 8259 does not.
    raise ValueError(f"{name} is not JSON")


def _has_lone_surrogate(value: object) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _same_json(a: object, b: object) -> bool:
    """Equality that also tells 1 from 1.0 and True from 1, which == does not."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return list(a) == list(b) and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        assert isinstance(b, float)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


@FUZZ
@given(_JSON_BODIES)
@example(b'{"x": 1e400}')
@example(b'{"a": 1, "a": 2}')
@example(b'{"x": "\\ud800"}')
@example(b'{"x": NaN}')
@example(b"\xef\xbb\xbf{}")
def test_payload_is_what_the_json_means(body: bytes) -> None:
    """decode_webhook's payload equals Python's json.loads of the UTF-8 text, except where the docstring
    refuses on purpose (a BOM, a lone surrogate, NaN/Infinity, an integer too long to build, an
    installation.id out of range)."""
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d", "Content-Type": JSON}
    decoded = _outcome(lambda: decode_webhook(headers, body))
    if body.count(b"[") + body.count(b"{") > 200:
        return  # maybe near the recursion limit: test_deep_nesting_is_judged_the_same covers it
    try:
        expected = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError included
        assert type(decoded) is MalformedPayload
        return
    if not isinstance(expected, dict) or _has_lone_surrogate(expected):
        assert type(decoded) is MalformedPayload
        return
    installation = expected.get("installation")
    raw_id = installation.get("id") if isinstance(installation, dict) else None
    if type(raw_id) is int and not 1 <= raw_id <= MAX_ID:
        assert type(decoded) is MalformedPayload  # documented: never storable, refused for good
        return
    assert isinstance(decoded, Event), decoded
    assert _same_json(decoded.payload, expected)


@FUZZ
@given(_JSON_BODIES, st.sampled_from(["", "&x=1", "&x=", "&payloadx=1"]), st.booleans())
def test_form_delivery_means_the_json_it_carries(body: bytes, extra: str, plus: bool) -> None:
    json_headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d", "Content-Type": JSON}
    form_headers = {**json_headers, "Content-Type": FORM}
    quote = urllib.parse.quote_plus if plus else urllib.parse.quote
    form_body = ("payload=" + quote(body, safe="") + extra).encode("ascii")
    as_json = _outcome(lambda: decode_webhook(json_headers, body))
    as_form = _outcome(lambda: decode_webhook(form_headers, form_body))
    if isinstance(as_json, Event):
        assert isinstance(as_form, Event)
        assert _same_json(as_form.payload, as_json.payload)
    elif extra == "":  # the JSON is refused; the form is refused too, with the same error
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            assert type(as_form) is MalformedPayload  # the form's field is not UTF-8 text
        else:
            assert type(as_form) is type(as_json)


_MEDIA_TYPES = ["application/json", "application/x-www-form-urlencoded"]


@FUZZ
@given(
    st.sampled_from([*_MEDIA_TYPES, "text/json", "application/json-seq", "application/xml", ""]),
    st.data(),
)
def test_content_type_is_matched_by_media_type_alone(media_type: str, data: st.DataObject) -> None:
    """Parameters and case are ignored; any other media type is 415 (UnsupportedMediaType)."""
    spelled = "".join(c.upper() if data.draw(st.booleans()) else c for c in media_type)
    params = data.draw(
        st.sampled_from(["", ";", "; charset=utf-8", ";charset=UTF-8; x=y", " ; q=1"])
    )
    content_type = data.draw(st.sampled_from(["", " ", "\t"])) + spelled + params
    body = b'{"zen": "Keep it logically awesome."}'
    if media_type == _MEDIA_TYPES[1]:
        body = _form(body)
    headers = {"X-GitHub-Event": "ping", "X-GitHub-Delivery": "d", "Content-Type": content_type}
    decoded = _outcome(lambda: decode_webhook(headers, body))
    if media_type in _MEDIA_TYPES:
        assert isinstance(decoded, Event)
        assert decoded.payload == {"zen": "Keep it logically awesome."}
    else:
        assert type(decoded) is UnsupportedMediaType


def _call_at_depth(depth: int, call: Callable[[], object]) -> object:
    return call() if depth == 0 else _call_at_depth(depth - 1, call)


@FUZZ
@given(
    anchor=st.sampled_from(["recursion limit", "nesting limit"]),
    offset=st.integers(-50, 500),
    where=st.sampled_from(["action", "installation", "other"]),
    bracket=st.sampled_from([("[", "]"), ('{"a":', "}")]),
)
@example(anchor="recursion limit", offset=74, where="action", bracket=("[", "]"))
def test_deep_nesting_is_judged_the_same_by_both_parsers(
    anchor: str, offset: int, where: str, bracket: tuple[str, str]
) -> None:
    """Whatever the caller's stack depth: the envelope parser never lets through a body that
    parse_webhook (or a worker's decode_webhook, called from elsewhere) would refuse, and nesting
    up to MAX_JSON_NESTING is always accepted."""
    # Nested up to (and past) the recursion limit in force now (Hypothesis raises it while it runs),
    # or around the documented nesting limit.
    if anchor == "recursion limit":
        nesting = max(0, sys.getrecursionlimit() - offset)
    else:
        nesting = max(0, MAX_JSON_NESTING + 1 - offset // 50)
    opener, closer = bracket
    body = f'{{"{where}": {opener * nesting}1{closer * nesting}}}'.encode()
    headers = {
        "X-GitHub-Event": "ping",
        "X-GitHub-Delivery": "d",
        "Content-Type": JSON,
        "X-Hub-Signature-256": signature_for(body, SECRET),
    }
    # The same body at a range of stack depths, so the recursion limit's edge is always crossed.
    for depth in range(0, 300, 10):
        full = _call_at_depth(
            depth, lambda: _outcome(lambda: parse_webhook(headers, body, [SECRET]))
        )
        envelope = _call_at_depth(
            depth, lambda: _outcome(lambda: parse_webhook_envelope(headers, body, [SECRET]))
        )
        assert _envelope_of(envelope) == _envelope_of(full), (depth, nesting)
        deeper = _call_at_depth(depth + 41, lambda: _outcome(lambda: decode_webhook(headers, body)))
        if isinstance(envelope, Envelope):
            assert isinstance(deeper, Event), (depth, nesting)
        # +1: the value inside the outermost object
        assert isinstance(full, Event) == (nesting + 1 <= MAX_JSON_NESTING), (depth, nesting)


def test_body_over_the_cap_is_413_before_anything_else() -> None:
    body = b" " * (WEBHOOK_MAX_BODY_BYTES + 1)
    for parse in (parse_webhook, parse_webhook_envelope):
        with pytest.raises(PayloadTooLarge):
            parse({}, body, [SECRET])
