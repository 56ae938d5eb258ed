"""Fuzzing X-Hub-Signature-256: verify_signature and the streaming SignatureVerifier.

The promises checked (their docstrings): a header is accepted exactly when it is ``sha256=`` and 64
hex digits (either case) equal to the HMAC-SHA256 of the body under a non-empty secret; only
InvalidSignature is raised; a malformed header is refused by the constructor before any body is read;
SignatureVerifier fed the body in any chunking answers what verify_signature answers for the whole,
and verify() does not end the stream; no message or repr contains a secret or the expected digest.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
from collections.abc import Callable

from hypothesis import example, given
from hypothesis import strategies as st

from snekomatic.gh.errors import InvalidSignature
from snekomatic.gh.sansio import SignatureVerifier, signature_for, verify_signature
from tests.fuzz._support import FUZZ, mutated_bytes, one_of_seeds, payload_bodies

# Published vectors: GitHub's docs and octokit/webhooks.
GITHUB_DOCS = (
    b"It's a Secret to Everybody",
    b"Hello, World!",
    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
)
OCTOKIT = (
    b"mysecret",
    b'{"foo":"bar"}',
    "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3",
)

_BODIES = st.one_of(
    st.sampled_from([GITHUB_DOCS[1], OCTOKIT[1], b""]),
    one_of_seeds(payload_bodies()),
    mutated_bytes(one_of_seeds(payload_bodies()), max_edits=2),
    st.binary(max_size=256),
)
# Long enough that finding one in a message by chance is out of the question.
_SECRETS = st.sampled_from([GITHUB_DOCS[0], OCTOKIT[0]]) | st.binary(min_size=12, max_size=40)
_SECRET_LISTS = st.lists(_SECRETS | st.just(b""), max_size=3)


def _expected(body: bytes, secret: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@st.composite
def _headers(draw: st.DrawFn, body: bytes, secrets: list[bytes]) -> str | None:
    """A right, wrong or malformed header: real ones, spelled differently, or damaged."""
    secret = draw(st.sampled_from(secrets) if secrets else _SECRETS)
    good = _expected(body, secret)
    digest = good[7:]
    flips = draw(st.lists(st.booleans(), min_size=64, max_size=64))
    mixed_case = "".join(c.upper() if f else c for c, f in zip(digest, flips, strict=True))
    at = draw(st.integers(0, 70))
    return draw(
        st.one_of(
            st.just(good),
            st.just("sha256=" + mixed_case),
            st.sampled_from(
                [
                    "SHA256=" + digest,
                    "sha1=" + digest,
                    "sha256=" + digest[:-1],
                    "sha256=" + digest + "0",
                    " " + good,
                    good + " ",
                    good + "\n",
                    "sha256= " + digest[1:],
                    "sha256=" + digest[:-1] + "g",
                    "sha256=" + digest[:-1] + "\uff10",  # FULLWIDTH DIGIT ZERO
                    "sha256=" + digest[:-1] + "\u0660",  # ARABIC-INDIC DIGIT ZERO
                    "sha256=" + digest[:62] + " 0",
                    "sha256=" + "0" * 64,
                    "sha256=",
                    "",
                    GITHUB_DOCS[2],
                    OCTOKIT[2],
                ]
            ),
            st.text(max_size=80).map(lambda t: good[:at] + t + good[at + len(t) :]),
            st.text(max_size=80),
            st.none(),
        )
    )


def _accepted(body: bytes, header: str | None, secrets: list[bytes]) -> bool:
    """The oracle, from the docstring: the prefix, 64 hex digits in either case, a non-empty secret."""
    if header is None or not header.startswith("sha256=") or len(header) != 71:
        return False
    given = header[7:]
    if any(c not in "0123456789abcdefABCDEF" for c in given):
        return False
    return any(secret and _expected(body, secret)[7:] == given.lower() for secret in secrets)


def _answer(call: Callable[[], object]) -> bool:
    """True when ``call`` returns, False when it raises InvalidSignature (anything else fails)."""
    try:
        call()
    except InvalidSignature:
        return False
    return True


@FUZZ
@given(_BODIES, _SECRET_LISTS, st.data())
@example(GITHUB_DOCS[1], [GITHUB_DOCS[0]], None)
def test_accepted_exactly_when_the_docs_say(
    body: bytes, secrets: list[bytes], data: st.DataObject | None
) -> None:
    header = GITHUB_DOCS[2] if data is None else data.draw(_headers(body, secrets))
    assert _answer(lambda: verify_signature(body, header, secrets)) == _accepted(
        body, header, secrets
    )


def _chunks(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(body), *(c % (len(body) + 1) for c in cuts)})
    return [body[a:b] for a, b in itertools.pairwise(points)]


@FUZZ
@given(_BODIES, _SECRET_LISTS, st.lists(st.integers(0, 2**16), max_size=12), st.data())
def test_any_chunking_answers_as_the_whole(
    body: bytes, secrets: list[bytes], cuts: list[int], data: st.DataObject
) -> None:
    header = data.draw(_headers(body, secrets))
    whole = _answer(lambda: verify_signature(body, header, secrets))
    try:
        verifier = SignatureVerifier(header, secrets)
    except InvalidSignature:
        assert not whole  # malformed: refused before a byte of the body is read
        assert not _answer(lambda: verify_signature(b"", header, [b"any"]))
        return
    # Empty chunks between the real ones change nothing; verify() part-way does not end the stream.
    fed = b""
    for piece in _chunks(body, cuts):
        if data.draw(st.booleans()):
            verifier.update(b"")
        verifier.update(piece)
        fed += piece
        if data.draw(st.integers(0, 3)) == 0:
            assert _answer(verifier.verify) == _answer(
                lambda fed=fed: verify_signature(fed, header, secrets)
            )
    assert fed == body
    assert _answer(verifier.verify) == whole
    assert _answer(verifier.verify) == whole  # asking twice gives the same answer


@FUZZ
@given(_BODIES, st.lists(_SECRETS, min_size=1, max_size=3), st.data())
def test_no_secret_or_digest_in_any_message_or_repr(
    body: bytes, secrets: list[bytes], data: st.DataObject
) -> None:
    header = data.draw(_headers(body, secrets))
    texts: list[str] = []
    try:
        verifier = SignatureVerifier(header, secrets)
    except InvalidSignature as exc:
        texts += [str(exc), repr(exc)]
    else:
        texts.append(repr(verifier))
        verifier.update(body)
        try:
            verifier.verify()
        except InvalidSignature as exc:
            texts += [str(exc), repr(exc)]
    for secret in secrets:
        digest = _expected(body, secret)[7:]
        for text in texts:
            assert digest not in text.lower()
            assert secret.decode("latin-1") not in text
            assert secret.hex() not in text.lower()


@FUZZ
@given(_BODIES, st.lists(st.just(b""), max_size=3))
def test_empty_secrets_never_match(body: bytes, secrets: list[bytes]) -> None:
    """GitHub signs nothing when no secret is set: what an empty key signs is not a signature."""
    assert not _answer(lambda: verify_signature(body, signature_for(body, b""), secrets))
