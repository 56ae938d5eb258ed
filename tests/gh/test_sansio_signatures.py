"""X-Hub-Signature-256 verification: every way a signature can be wrong raises InvalidSignature only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snekomatic.gh.errors import InvalidSignature
from snekomatic.gh.sansio import SignatureVerifier, signature_for, verify_signature

SECRET = b"It's a Secret to Everybody"
BODY = b"Hello, World!"
GOOD = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

secrets = st.binary(min_size=1, max_size=64)
bodies = st.binary(max_size=256)


def test_published_signature_verifies() -> None:
    verify_signature(BODY, GOOD, [SECRET])


def test_upper_case_hex_digest_verifies() -> None:
    verify_signature(BODY, "sha256=" + GOOD.removeprefix("sha256=").upper(), [SECRET])


def test_any_of_several_secrets_verifies_during_rotation() -> None:
    verify_signature(BODY, GOOD, [b"the new secret", SECRET])


def test_signature_under_none_of_the_secrets_is_rejected() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, GOOD, [b"another secret", b"and another"])


def test_no_configured_secret_rejects_everything() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, GOOD, [])


def test_empty_secret_never_matches() -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, signature_for(BODY, b""), [b""])


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(None, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("sha256=", id="prefix-only"),
        pytest.param("sha1=" + "0" * 40, id="sha1"),
        pytest.param(GOOD.removeprefix("sha256="), id="no-prefix"),
        pytest.param("SHA256=" + GOOD.removeprefix("sha256="), id="upper-case-prefix"),
        pytest.param("sha512=" + GOOD.removeprefix("sha256="), id="other-algorithm"),
        pytest.param(GOOD[:-1], id="one-digit-short"),
        pytest.param(GOOD + "0", id="one-digit-long"),
        pytest.param(GOOD[:-1] + "g", id="non-hex"),
        pytest.param(GOOD[:-1] + "é", id="non-ascii"),
        pytest.param(GOOD[:-1] + "٣", id="non-ascii-digit"),
        pytest.param(" " + GOOD, id="leading-space"),
        pytest.param(GOOD + " ", id="trailing-space"),
        pytest.param(GOOD[:-2] + " " + GOOD[-1], id="space-inside-hex"),
        pytest.param(GOOD[:-1] + "\n", id="newline"),
        pytest.param("sha256=" + "\x00" * 64, id="nul-bytes"),
        pytest.param(GOOD + "," + GOOD, id="two-signatures"),
    ],
)
def test_malformed_header_raises_invalid_signature(header: str | None) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, [SECRET])


def test_rejection_message_does_not_reveal_the_secret_or_expected_digest() -> None:
    wrong = "sha256=" + "0" * 64
    with pytest.raises(InvalidSignature) as caught:
        verify_signature(BODY, wrong, [SECRET])
    message = str(caught.value)
    assert SECRET.decode() not in message
    assert GOOD.removeprefix("sha256=") not in message


@given(body=bodies, secret=secrets)
def test_our_signature_always_verifies(body: bytes, secret: bytes) -> None:
    verify_signature(body, signature_for(body, secret), [secret])


@given(body=bodies, other=bodies, secret=secrets)
def test_any_change_to_the_body_fails(body: bytes, other: bytes, secret: bytes) -> None:
    if other == body:
        other = body + b"x"
    with pytest.raises(InvalidSignature):
        verify_signature(other, signature_for(body, secret), [secret])


@given(body=bodies, secret=secrets, other=secrets)
def test_any_change_to_the_secret_fails(body: bytes, secret: bytes, other: bytes) -> None:
    if other == secret:
        other = secret + b"x"
    with pytest.raises(InvalidSignature):
        verify_signature(body, signature_for(body, secret), [other])


@given(header=st.text())
def test_arbitrary_text_header_raises_only_invalid_signature(header: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, header, [SECRET])


@given(digest=st.text(alphabet=st.characters(), min_size=64, max_size=64))
def test_arbitrary_64_character_digest_raises_only_invalid_signature(digest: str) -> None:
    with pytest.raises(InvalidSignature):
        verify_signature(BODY, "sha256=" + digest, [SECRET])


# -- SignatureVerifier: the same check over a body fed in chunks -----------------------------------


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(cut, len(body)) for cut in cuts})
    return [body[start:end] for start, end in zip([0, *points], [*points, len(body)], strict=True)]


def test_published_signature_verifies_when_fed_in_chunks() -> None:
    verifier = SignatureVerifier(GOOD, [SECRET])
    for chunk in (b"Hello", b", ", b"", b"World!"):
        verifier.update(chunk)
    verifier.verify()


def test_a_malformed_header_is_refused_before_any_body_is_fed() -> None:
    with pytest.raises(InvalidSignature):
        SignatureVerifier("sha256=" + "zz" * 32, [SECRET])


def test_a_missing_header_is_refused_before_any_body_is_fed() -> None:
    with pytest.raises(InvalidSignature):
        SignatureVerifier(None, [SECRET])


def test_the_repr_of_a_verifier_shows_no_secret_and_no_digest() -> None:
    shown = repr(SignatureVerifier(GOOD, [SECRET]))
    assert SECRET.decode() not in shown
    assert GOOD.removeprefix("sha256=") not in shown


@given(
    body=bodies,
    other=bodies,
    secret=secrets,
    cuts=st.lists(st.integers(min_value=0, max_value=256), max_size=6),
    sign_other=st.booleans(),
)
def test_chunked_verification_agrees_with_verify_signature(
    body: bytes, other: bytes, secret: bytes, cuts: list[int], sign_other: bool
) -> None:
    header = signature_for(other if sign_other else body, secret)
    try:
        verify_signature(body, header, [b"unrelated", secret])
    except InvalidSignature:
        whole_verdict = False
    else:
        whole_verdict = True
    verifier = SignatureVerifier(header, [b"unrelated", secret])
    for chunk in _split(body, cuts):
        verifier.update(chunk)
    try:
        verifier.verify()
    except InvalidSignature:
        chunked_verdict = False
    else:
        chunked_verdict = True
    assert chunked_verdict == whole_verdict
