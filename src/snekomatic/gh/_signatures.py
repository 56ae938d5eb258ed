"""Webhook signatures: ``X-Hub-Signature-256`` computed and checked over the raw body."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import final

from snekomatic.gh.errors import InvalidSignature

# "The hash signature always starts with sha256=", followed by the HMAC-SHA256 hex digest of the body.
# https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
# The sha1 header is never trusted: "X-Hub-Signature is provided for compatibility with existing
# integrations. We recommend that you use the more secure X-Hub-Signature-256 instead."
# https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
_SIGNATURE_PREFIX = "sha256="
_DIGEST_HEX_LENGTH = 2 * hashlib.sha256().digest_size
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def signature_for(body: bytes, secret: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body`` signed with ``secret``.

    https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    """
    return _SIGNATURE_PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _digest_from_header(header: str | None) -> bytes:
    """The 32 digest bytes a well-formed header carries; raises ``InvalidSignature`` for anything else.

    Strict on purpose: no stripping, no case folding of the prefix, no whitespace inside the hex
    (``bytes.fromhex`` would skip it), so there is exactly one spelling of each valid signature.
    """
    if header is None:
        raise InvalidSignature(
            "missing X-Hub-Signature-256 header (the sha1 X-Hub-Signature is not accepted)"
        )
    if not isinstance(header, str) or not header.isascii():
        raise InvalidSignature("malformed X-Hub-Signature-256 header")
    if len(header) != len(_SIGNATURE_PREFIX) + _DIGEST_HEX_LENGTH or not header.startswith(
        _SIGNATURE_PREFIX
    ):
        raise InvalidSignature("malformed X-Hub-Signature-256 header")
    hex_digest = header[len(_SIGNATURE_PREFIX) :]
    if not _HEX_DIGITS.issuperset(hex_digest):
        raise InvalidSignature("malformed X-Hub-Signature-256 header")
    return bytes.fromhex(hex_digest)


def verify_signature(body: bytes, header: str | None, secrets: Sequence[bytes]) -> None:
    """Check the ``X-Hub-Signature-256`` ``header`` against the raw ``body``.

    Returns None when the header is ``sha256=`` followed by 64 hex digits (either case) and matches
    the HMAC-SHA256 of ``body`` under any one of ``secrets`` (several are accepted so a secret can be
    rotated without downtime). Digests are compared as bytes with :func:`hmac.compare_digest`.

    Raises :class:`~snekomatic.gh.errors.InvalidSignature`, and nothing else, when the header is
    missing, malformed (wrong prefix, length, non-hex, non-ASCII, surrounding whitespace) or matches
    none of the secrets. Empty secrets never match (GitHub signs nothing when no secret is set), so an
    empty ``secrets`` rejects every delivery. Messages never contain a secret or the expected digest.
    Pure: no I/O, not a checkpoint. :class:`SignatureVerifier` is the same check over a body that
    arrives in pieces.
    """
    verifier = SignatureVerifier(header, secrets)
    verifier.update(body)
    verifier.verify()


@final
class SignatureVerifier:
    """:func:`verify_signature` for a body read in chunks, so a receiver never needs a second pass.

    ``SignatureVerifier(header, secrets)`` checks the header's form at once and raises
    :class:`~snekomatic.gh.errors.InvalidSignature` if it is missing or malformed, before a byte of
    the body is read. Then :meth:`update` takes the body's chunks in order, and :meth:`verify` returns
    None or raises ``InvalidSignature`` exactly when :func:`verify_signature` would on their
    concatenation. :meth:`verify` does not end the stream: more :meth:`update` calls may follow.

    It holds the HMAC state of every secret (keyed with the webhook secrets, which never appear in
    its ``repr`` or in a message), and none of the body. Pure: no I/O, not a checkpoint.
    """

    __slots__ = ("_given", "_macs")

    def __init__(self, header: str | None, secrets: Sequence[bytes]) -> None:
        self._given = _digest_from_header(header)
        self._macs = [hmac.new(secret, digestmod=hashlib.sha256) for secret in secrets if secret]

    def __repr__(self) -> str:
        return f"<SignatureVerifier over {len(self._macs)} secret(s)>"

    def update(self, chunk: bytes) -> None:
        """Feed the next ``chunk`` of the raw body."""
        for mac in self._macs:
            mac.update(chunk)

    def verify(self) -> None:
        """Raise ``InvalidSignature`` unless the bytes fed so far match the header under some secret."""
        matched = False
        for mac in self._macs:
            # No early exit: every configured secret costs the same whether or not an earlier one
            # matched.
            matched |= hmac.compare_digest(mac.digest(), self._given)
        if not matched:
            raise InvalidSignature("X-Hub-Signature-256 does not match the body")
