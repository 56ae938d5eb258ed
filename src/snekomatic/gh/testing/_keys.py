"""RSA keys for tests: one generated per process, because 2048-bit generation costs ~50-100 ms."""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

__all__ = ["generate_private_key", "new_private_key", "public_key_pem"]


def new_private_key(*, github_format: bool = False) -> str:
    """A fresh RSA 2048 private key as PEM text: PKCS#8, or with ``github_format`` the PKCS#1
    "RSA PRIVATE KEY" form GitHub hands out. Not a checkpoint (pure CPU, ~50-100 ms). A secret.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem_format = (
        serialization.PrivateFormat.TraditionalOpenSSL
        if github_format
        else serialization.PrivateFormat.PKCS8
    )
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=pem_format,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode("ascii")


@functools.cache
def generate_private_key() -> str:
    """An RSA 2048 private key as PKCS#8 PEM text, generated once per process and then reused.

    Not a checkpoint (pure CPU). The key is a test secret: do not log it.
    """
    return new_private_key()


def public_key_pem(private_key: str) -> str:
    """The PEM public key matching ``private_key`` (PEM text); raises ``ValueError`` if it is not a key."""
    key = serialization.load_pem_private_key(private_key.encode("ascii"), password=None)
    return (
        key.public_key()
        .public_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PublicFormat.SubjectPublicKeyInfo,
        )
        .decode("ascii")
    )
