"""parse_webhook: real octokit payloads in both encodings, header handling, and the order of checks.

Every case also runs parse_webhook_envelope, which must accept and refuse exactly alike.
"""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snekomatic.gh._webhooks import DELIVERY_ID_MAX_LENGTH
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
    decode_webhook_envelope,
    parse_webhook,
    parse_webhook_envelope,
    signature_for,
)
from tests.payloads import PAYLOAD_EXAMPLES

SECRET = b"webhook secret for tests"
EXAMPLES = sorted(PAYLOAD_EXAMPLES.rglob("*.json"))
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def _headers(
    body: bytes, *, event: str = "ping", content_type: str = JSON, **extra: str
) -> dict[str, str]:
    headers = {
        "Content-Type": content_type,
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
        "X-GitHub-Hook-ID": "292430182",
        "X-Hub-Signature-256": signature_for(body, SECRET),
    }
    headers.update(extra)
    return headers


def _form(payload_json: bytes) -> bytes:
    return urllib.parse.urlencode({"payload": payload_json.decode("utf-8")}).encode("ascii")


def envelope_of(event: Event) -> Envelope:
    return Envelope(
        event=event.event,
        action=event.action,
        delivery_id=event.delivery_id,
        hook_id=event.hook_id,
        installation_id=event.installation_id,
    )


def _parse(body: bytes, headers: dict[str, str]) -> Event:
    """parse_webhook, checked against parse_webhook_envelope and (past the signature and size)
    decode_webhook_envelope: same refusals, same envelope."""
    try:
        envelope = parse_webhook_envelope(headers, body, [SECRET])
    except WebhookError as refusal:
        with pytest.raises(type(refusal)):
            parse_webhook(headers, body, [SECRET])
        if not isinstance(refusal, InvalidSignature | PayloadTooLarge):
            with pytest.raises(type(refusal)):
                decode_webhook_envelope(headers, body)
        raise
    try:
        event = parse_webhook(headers, body, [SECRET])
    except WebhookError as refusal:
        pytest.fail(f"parse_webhook_envelope accepted what parse_webhook refuses: {refusal!r}")
    assert envelope == envelope_of(event) == decode_webhook_envelope(headers, body)
    return event


def test_every_payload_example_is_found() -> None:
    assert len(EXAMPLES) > 200


@pytest.mark.parametrize(
    "path", EXAMPLES, ids=[str(p.relative_to(PAYLOAD_EXAMPLES)) for p in EXAMPLES]
)
def test_payload_example_parses_from_json(path: Path) -> None:
    body = path.read_bytes()
    payload: dict[str, Any] = json.loads(body)

    event = _parse(body, _headers(body, event=path.parent.name))

    assert event.event == path.parent.name
    assert event.payload == payload
    assert event.action == (payload["action"] if isinstance(payload.get("action"), str) else None)
    assert event.installation_id == payload.get("installation", {}).get("id")


@pytest.mark.parametrize(
    "path", EXAMPLES, ids=[str(p.relative_to(PAYLOAD_EXAMPLES)) for p in EXAMPLES]
)
def test_payload_example_parses_from_form(path: Path) -> None:
    payload_json = path.read_bytes()
    body = _form(payload_json)

    event = _parse(body, _headers(body, event=path.parent.name, content_type=FORM))

    assert event.event == path.parent.name
    assert event.payload == json.loads(payload_json)


def test_event_carries_delivery_and_hook_ids() -> None:
    body = b'{"zen": "Keep it logically awesome."}'

    event = _parse(body, _headers(body))

    assert event == Event(
        event="ping",
        action=None,
        delivery_id="72d3162e-cc78-11e3-81ab-4c9367dc0958",
        hook_id=292430182,
        installation_id=None,
        payload={"zen": "Keep it logically awesome."},
    )


@pytest.mark.parametrize(
    "transform",
    [str.lower, str.upper, str.title],
    ids=["lower", "upper", "title"],
)
def test_header_names_match_case_insensitively(transform: Any) -> None:
    body = b'{"action": "opened"}'
    headers = {transform(name): value for name, value in _headers(body).items()}

    event = _parse(body, headers)

    assert (event.event, event.action, event.hook_id) == ("ping", "opened", 292430182)


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        pytest.param("application/json; charset=utf-8", lambda b: b, id="json-charset"),
        pytest.param("Application/JSON", lambda b: b, id="json-upper-case"),
        pytest.param(FORM + "; charset=utf-8", _form, id="form-charset"),
    ],
)
def test_content_type_parameters_and_case_are_ignored(content_type: str, encode: Any) -> None:
    body = encode(b'{"action": "created"}')

    event = _parse(body, _headers(body, content_type=content_type))

    assert event.action == "created"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, None, id="absent"),
        pytest.param("7", 7, id="digits"),
        pytest.param("abc", None, id="not-a-number"),
        pytest.param("-7", None, id="negative"),
        pytest.param("1_000", None, id="underscore"),
        pytest.param("٣", None, id="non-ascii-digit"),
        pytest.param(str(2**63 - 1), 2**63 - 1, id="largest-64-bit"),
        pytest.param(str(2**63), None, id="beyond-64-bit"),
        pytest.param("9" * 20, None, id="twenty-nines"),
    ],
)
def test_hook_id_is_an_integer_or_none(value: str | None, expected: int | None) -> None:
    body = b"{}"
    headers = _headers(body)
    del headers["X-GitHub-Hook-ID"]
    if value is not None:
        headers["X-GitHub-Hook-ID"] = value

    assert _parse(body, headers).hook_id == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param({"installation": {"id": 42}}, 42, id="present"),
        pytest.param({}, None, id="absent"),
        pytest.param({"installation": {"id": "42"}}, None, id="string-id"),
        pytest.param({"installation": {"id": True}}, None, id="boolean-id"),
        pytest.param({"installation": 42}, None, id="not-an-object"),
        pytest.param({"installation": {"id": 2**63 - 1}}, 2**63 - 1, id="largest-64-bit"),
    ],
)
def test_installation_id_comes_from_the_payload(
    payload: dict[str, Any], expected: int | None
) -> None:
    body = json.dumps(payload).encode()

    assert _parse(body, _headers(body)).installation_id == expected


@pytest.mark.parametrize(
    "installation_id",
    [10**30, 2**63, 2**64, 0, -1, -(2**63)],
    ids=["ten-to-the-30", "2-to-the-63", "2-to-the-64", "zero", "negative", "most-negative"],
)
def test_installation_id_no_installation_can_have_is_malformed_not_retried(
    installation_id: int,
) -> None:
    # A 64-bit column cannot hold it: storing it failed with a 503 ("retry later") every time.
    body = json.dumps({"installation": {"id": installation_id}}).encode()

    with pytest.raises(MalformedPayload, match=r"installation\.id") as caught:
        _parse(body, _headers(body))
    assert caught.value.status_hint == 400


def test_delivery_id_of_the_longest_length_is_accepted() -> None:
    body = b"{}"
    delivery_id = "d" * DELIVERY_ID_MAX_LENGTH

    assert _parse(body, _headers(body, **{"X-GitHub-Delivery": delivery_id})).delivery_id == (
        delivery_id
    )


@pytest.mark.parametrize(
    "delivery_id",
    ["d" * (DELIVERY_ID_MAX_LENGTH + 1), "x" * 12_000, "a b", "caf\u00e9", "tab\there", "del\x7f"],
    ids=["one-too-long", "twelve-kilobytes", "space", "non-ascii", "tab", "delete"],
)
def test_delivery_id_no_store_can_key_on_is_a_malformed_header(delivery_id: str) -> None:
    # A 12 KB id overflowed the database index: a 503 at every redelivery. It is refused for good.
    body = b"{}"

    with pytest.raises(MalformedHeader, match="X-GitHub-Delivery") as caught:
        _parse(body, _headers(body, **{"X-GitHub-Delivery": delivery_id}))
    assert caught.value.status_hint == 400
    assert delivery_id not in str(caught.value)
    with pytest.raises(MalformedHeader):
        decode_webhook(_headers(body, **{"X-GitHub-Delivery": delivery_id}), body)


def test_non_string_action_is_none() -> None:
    body = b'{"action": 3}'

    assert _parse(body, _headers(body)).action is None


def test_sha1_signature_alone_is_rejected() -> None:
    body = b"{}"
    headers = _headers(body)
    del headers["X-Hub-Signature-256"]
    headers["X-Hub-Signature"] = "sha1=" + "0" * 40

    with pytest.raises(InvalidSignature):
        _parse(body, headers)


def test_body_changed_after_signing_is_rejected() -> None:
    headers = _headers(b'{"action": "opened"}')

    with pytest.raises(InvalidSignature):
        _parse(b'{"action": "closed"}', headers)


@pytest.mark.parametrize("missing", ["X-GitHub-Event", "X-GitHub-Delivery"])
def test_missing_required_header_raises_missing_header(missing: str) -> None:
    body = b"{}"
    headers = _headers(body)
    del headers[missing]

    with pytest.raises(MissingHeader) as caught:
        _parse(body, headers)

    assert caught.value.header == missing


def test_empty_event_header_counts_as_missing() -> None:
    body = b"{}"

    with pytest.raises(MissingHeader):
        _parse(body, _headers(body, event=""))


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/jsonx", "multipart/form-data", "application/xml", ""],
)
def test_other_content_types_are_unsupported(content_type: str) -> None:
    body = b"{}"

    with pytest.raises(UnsupportedMediaType):
        _parse(body, _headers(body, content_type=content_type))


def test_missing_content_type_is_unsupported() -> None:
    body = b"{}"
    headers = _headers(body)
    del headers["Content-Type"]

    with pytest.raises(UnsupportedMediaType):
        _parse(body, headers)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{", id="truncated"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"text"', id="string"),
        pytest.param(b"null", id="null"),
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": "\xff"}', id="not-utf-8"),
        pytest.param(b'{"a": "\xed\xa0\x80"}', id="utf-8-encoded-surrogate"),
        pytest.param(b'{"a": "\\ud800"}', id="escaped-lone-surrogate"),
        pytest.param(b'\xef\xbb\xbf{"a": 1}', id="byte-order-mark"),
        pytest.param('{"a": 1}'.encode("utf-16"), id="utf-16"),
        pytest.param(b'{"a": 1} {"b": 2}', id="two-values"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
    ],
)
def test_json_body_that_is_not_an_object_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        _parse(body, _headers(body))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"other=1", id="no-payload-field"),
        pytest.param(_form(b"{}") + b"&" + _form(b"{}"), id="two-payload-fields"),
        pytest.param(b"payload", id="field-without-equals"),
        pytest.param(b"payload=%7B%7D&&", id="empty-field"),
        pytest.param("payload={}é".encode(), id="raw-non-ascii"),
        pytest.param(b"payload=%FF", id="percent-encoded-non-utf-8"),
        pytest.param(b"&".join([b"f=1"] * 1000), id="too-many-fields"),
        pytest.param(_form(b"[]"), id="payload-not-an-object"),
        pytest.param(_form(b"{"), id="payload-not-json"),
    ],
)
def test_form_body_without_one_json_object_payload_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        _parse(body, _headers(body, content_type=FORM))


def test_body_over_the_limit_is_too_large() -> None:
    body = b" " * (WEBHOOK_MAX_BODY_BYTES + 1)

    with pytest.raises(PayloadTooLarge):
        _parse(body, _headers(body))


def test_body_at_the_limit_is_accepted() -> None:
    prefix = b'{"padding": "'
    suffix = b'"}'
    body = prefix + b"x" * (WEBHOOK_MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix

    assert len(_parse(body, _headers(body)).payload["padding"]) > 0


# The order of checks: size, then signature, so that a forged request learns nothing else.
@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        pytest.param(
            b" " * (WEBHOOK_MAX_BODY_BYTES + 1),
            {"X-Hub-Signature-256": "bad"},
            PayloadTooLarge,
            id="size-before-signature",
        ),
        pytest.param(
            b"not json",
            {"X-Hub-Signature-256": "sha256=" + "0" * 64, "Content-Type": "text/plain"},
            InvalidSignature,
            id="signature-before-headers-and-content-type",
        ),
        pytest.param(
            b"not json",
            {"X-Hub-Signature-256": signature_for(b"not json", SECRET), "Content-Type": "x/y"},
            MissingHeader,
            id="headers-before-content-type",
        ),
    ],
)
def test_checks_run_in_documented_order(
    body: bytes, headers: dict[str, str], expected: type[Exception]
) -> None:
    with pytest.raises(expected):
        _parse(body, headers)


def test_unsupported_media_type_is_reported_before_json_errors() -> None:
    body = b"not json"

    with pytest.raises(UnsupportedMediaType):
        _parse(body, _headers(body, content_type="text/plain"))


def test_secret_never_appears_in_webhook_errors() -> None:
    body = b"{}"
    headers = _headers(body)
    del headers["X-GitHub-Event"]

    with pytest.raises(MissingHeader) as caught:
        _parse(body, headers)

    assert SECRET.decode() not in str(caught.value) + repr(caught.value)


def test_decode_webhook_reads_back_a_stored_delivery_without_its_signature() -> None:
    body = b'{"action": "closed", "installation": {"id": 7}}'
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": "d",
    }

    event = decode_webhook(headers, body)

    assert (event.event, event.action, event.delivery_id, event.installation_id) == (
        "pull_request",
        "closed",
        "d",
        7,
    )


def test_numbers_decode_as_pythons_json_decodes_them() -> None:
    body = b'{"big": 123456789012345678901234567890, "huge": 1e400, "small": -1e400, "f": 0.1}'

    payload = _parse(body, _headers(body)).payload

    assert payload == json.loads(body)
    assert payload["big"] == 123456789012345678901234567890  # exact, not a float


@pytest.mark.parametrize(
    "number",
    [b"1" * 5000, b"-" + b"1" * 4300, b"1" * 4301],
    ids=["five-thousand-digits", "negative-4301-characters", "4301-digits"],
)
@pytest.mark.parametrize("where", ["unread-field", "nested", "action"])
def test_an_integer_too_long_for_python_is_refused_by_the_envelope_too(
    number: bytes, where: str
) -> None:
    # The envelope used to skip it unread (202), and every worker attempt failed to decode it.
    inner = {
        "unread-field": b'{"installation": {"id": 1}, "v": %s}',
        "nested": b'{"pull_request": {"user": {"id": [%s]}}}',
        "action": b'{"action": %s}',
    }[where]
    body = inner % number

    with pytest.raises(MalformedPayload, match="cannot be decoded"):
        _parse(body, _headers(body))


@pytest.mark.parametrize(
    "body",
    [
        b'{"v": %s}' % (b"1" * 4300),
        b'{"v": -%s}' % (b"1" * 4299),
        b'{"v": %s.5}' % (b"1" * 5000),
        b'{"v": "%s"}' % (b"1" * 5000),
        b'{"v": [%s]}' % b", ".join([b"1" * 600] * 20),
    ],
    ids=["4300-digits", "negative-4300-characters", "long-float", "digits-in-a-string", "many-600"],
)
def test_long_numbers_python_can_build_are_accepted(body: bytes) -> None:
    assert _parse(body, _headers(body)).payload == json.loads(body)


@pytest.mark.parametrize(
    ("body", "action", "installation_id"),
    [
        pytest.param(b'{"action": 5, "installation": "7"}', None, None, id="wrong-types"),
        pytest.param(b'{"installation": {"id": true}}', None, None, id="boolean-id"),
        pytest.param(b'{"installation": {"id": "7"}}', None, None, id="string-id"),
        pytest.param(b'{"installation": {"id": 7.0}}', None, None, id="float-id"),
        pytest.param(b'{"action": "a", "action": "b"}', "b", None, id="repeated-key-last-wins"),
        pytest.param(b'{"installation": {"id": 1}, "installation": null}', None, None, id="null"),
        pytest.param(
            b'{"action": "\\u00e9\\ud83d\\ude00"}', "\u00e9\U0001f600", None, id="escapes"
        ),
    ],
)
def test_envelope_fields_of_unusual_payloads(
    body: bytes, action: str | None, installation_id: int | None
) -> None:
    event = _parse(body, _headers(body))

    assert (event.action, event.installation_id) == (action, installation_id)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["action", "installation", "id", "x"]) | st.text(), children
        )
    ),
    max_leaves=12,
)
# Bytes that, spliced into valid JSON, make the edge cases of JSON decoders.
_splices = st.sampled_from(
    [
        b"\xff",
        b"\xed\xa0\x80",
        b"\\ud800",
        b"\\x",
        b"1e400",
        b"NaN",
        b"-",
        b",",
        b"]",
        b"}",
        b"\xef\xbb\xbf",
        b"\x00",
        b'"',
        b"\\",
        b"\t",
        b"[" * 50,
        b"01",
        b".5",
        b"\\u00",
        b"1" * 4301,
        b"-" + b"1" * 4300,
        b"9" * 700,
    ]
)


@settings(max_examples=400, deadline=None)
@given(
    value=_json_values,
    splice=_splices,
    position=st.floats(min_value=0, max_value=1),
    keep=st.booleans(),
)
def test_the_envelope_accepts_exactly_what_the_full_decode_accepts(
    value: Any, splice: bytes, position: float, keep: bool
) -> None:
    # What the inbox acknowledged on the envelope's word, a worker must be able to decode later.
    text = json.dumps({"installation": {"id": 1}, "action": "x", "v": value}).encode()
    if not keep:
        at = int(position * len(text))
        text = text[:at] + splice + text[at:]

    try:
        _parse(text, _headers(text))  # asserts the two parsers agree, on refusal and on fields
    except MalformedPayload:
        pass


_header_values = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.sampled_from(["", "d" * 201, "pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958"]),
)
_bodies = st.one_of(
    st.binary(max_size=64),
    st.builds(
        lambda value: json.dumps({"installation": {"id": value}, "v": value}).encode(),
        st.one_of(st.integers(), st.integers(min_value=2**62, max_value=2**65), _json_values),
    ),
    st.sampled_from([b'{"v": %s}' % (b"7" * 5000), b'{"installation": {"id": 1e30}}']),
)


@settings(max_examples=500, deadline=None)
@given(
    body=_bodies,
    event=_header_values,
    delivery=_header_values,
    hook=_header_values,
    content_type=st.sampled_from([JSON, FORM, "text/plain", None]),
    sign=st.booleans(),
)
def test_the_envelope_raises_nothing_but_webhook_errors(
    body: bytes,
    event: str | None,
    delivery: str | None,
    hook: str | None,
    content_type: str | None,
    sign: bool,
) -> None:
    headers = {
        name: value
        for name, value in {
            "Content-Type": content_type,
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery,
            "X-GitHub-Hook-ID": hook,
            "X-Hub-Signature-256": signature_for(body, SECRET) if sign else "sha256=00",
        }.items()
        if value is not None
    }
    try:
        envelope = parse_webhook_envelope(headers, body, [SECRET])
    except WebhookError:
        return
    # What is accepted can be stored (64-bit ids, a short printable key) and decoded later.
    assert envelope.installation_id is None or 0 < envelope.installation_id < 2**63
    assert envelope.hook_id is None or 0 <= envelope.hook_id < 2**63
    assert 0 < len(envelope.delivery_id) <= DELIVERY_ID_MAX_LENGTH
    assert envelope.delivery_id.isascii() and envelope.delivery_id.isprintable()
    assert " " not in envelope.delivery_id
    assert envelope_of(decode_webhook(headers, body)) == envelope
