"""An RSA key pair for the fake app (demo, simulate, tests): generated once per process."""

from __future__ import annotations

import functools

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


@functools.cache
def demo_private_key() -> str:
    """A throwaway 2048-bit key in PEM; it only ever signs JWTs the fake checks."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@functools.lru_cache(maxsize=8)
def public_key_of(private_pem: str) -> str:
    """The public half in PEM (cached: loading an RSA private key is slow)."""
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
