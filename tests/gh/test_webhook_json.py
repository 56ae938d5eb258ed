"""The payload JSON is decoded the same with or without orjson: same payloads accepted, same values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from snekomatic.gh.errors import MalformedPayload
from snekomatic.gh.sansio import parse_webhook, signature_for

SECRET = b"secret"


def parse(body: bytes) -> dict[str, Any]:
    headers = {
        "Content-Type": "application/json",
        "X-GitHub-Event": "issues",
        "X-GitHub-Delivery": "d-1",
        "X-Hub-Signature-256": signature_for(body, SECRET),
    }
    return parse_webhook(headers, body, [SECRET]).payload


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"id": 18446744073709551615, "n": -9223372036854775808}', id="64-bit-ints"),
        pytest.param(b'{"x": 1.0000000000000002, "y": 1E5, "z": -0}', id="numbers"),
        pytest.param(b'{"x": 1e400}', id="overflowing-float"),
        pytest.param(b'{"s": "\\ud800"}', id="lone-surrogate"),
        pytest.param(b'\xef\xbb\xbf{"a": 1}', id="utf-8-bom"),
        pytest.param('{"a": "caf\u00e9"}'.encode("utf-16"), id="utf-16"),
        pytest.param(b'{"a": 1, "a": 2}', id="repeated-key"),
        pytest.param(b'{"a": "caf\xc3\xa9 \\u00e9 \\n"}', id="escapes"),
    ],
)
def test_valid_json_decodes_as_the_standard_library_does(body: bytes) -> None:
    assert repr(parse(body)) == repr(json.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"a": NaN}', id="nan"),
        pytest.param(b'{"a": -Infinity}', id="infinity"),
        pytest.param(b'{"a": 1,}', id="trailing-comma"),
        pytest.param(b'{"a": "\xff"}', id="invalid-utf-8"),
        pytest.param(b'{"a": "\x01"}', id="control-character"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deep-nesting"),
        pytest.param(b'{"a": 1} x', id="trailing-garbage"),
    ],
)
def test_invalid_json_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedPayload):
        parse(body)
