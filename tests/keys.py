"""Private keys for tests that need one GitHub would not accept (an RSA key: gh.testing.generate_private_key)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def ec_private_key_pem() -> str:
    """A new elliptic-curve (P-256) private key, PEM (PKCS#8), unencrypted: valid, but not RSA."""
    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )
