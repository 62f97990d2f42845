"""RS256 signing keys: generation, self-signed certificate, JWKS members, encryption at rest.

`kid` is the RFC 7638 thumbprint of the public key (DESIGN.md). The JWKS entry carries `x5c` and
`x5t#S256` from a self-signed certificate because the Python SDK's `JwksResponse` model requires
them (CONTRACT.md §4.5).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_SIZE = 2048


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int_b64url(value: int) -> str:
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


@dataclass(frozen=True)
class GeneratedKey:
    kid: str
    private_pem: bytes
    certificate_der: bytes
    public_jwk: dict[str, Any]


def public_jwk(public_key: rsa.RSAPublicKey) -> dict[str, str]:
    numbers = public_key.public_numbers()
    return {"kty": "RSA", "n": _int_b64url(numbers.n), "e": _int_b64url(numbers.e)}


def thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexicographic order, no whitespace."""
    canonical = json.dumps(
        {"e": jwk["e"], "kty": jwk["kty"], "n": jwk["n"]}, separators=(",", ":"), sort_keys=True
    )
    return b64url(hashlib.sha256(canonical.encode()).digest())


def generate_signing_key(common_name: str, valid_days: int = 3650) -> GeneratedKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    now = dt.datetime.now(dt.UTC)
    return _signing_key(
        private_key, common_name, now - dt.timedelta(minutes=5), now + dt.timedelta(days=valid_days)
    )


def signing_key_from_pem(pem: bytes) -> GeneratedKey:
    """An imported RSA key (PKCS #1 or #8 PEM, unencrypted) with a certificate made from the key
    alone: the same key gives the same `kid`, certificate and JWKS entry on every machine."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        private_key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as error:
        raise ValueError(f"not an unencrypted PEM private key ({error})") from None
    if not isinstance(private_key, rsa.RSAPrivateKey) or private_key.key_size < KEY_SIZE:
        raise ValueError(f"the signing key must be RSA of at least {KEY_SIZE} bits (RS256)")
    return _signing_key(
        private_key,
        "authkeep pinned signing key",
        dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        dt.datetime(2120, 1, 1, tzinfo=dt.UTC),
        serial=int.from_bytes(hashlib.sha256(_public_der(private_key)).digest()[:16]) >> 1,
    )


def _public_der(private_key: rsa.RSAPrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _signing_key(
    private_key: rsa.RSAPrivateKey,
    common_name: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    serial: int | None = None,
) -> GeneratedKey:
    from cryptography import x509  # certificates are made rarely: keep x509 out of workers
    from cryptography.x509.oid import NameOID

    jwk = public_jwk(private_key.public_key())
    kid = thumbprint(jwk)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(serial if serial is not None else x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(private_key, hashes.SHA256())  # PKCS #1 v1.5: the same bytes every time
    )
    der = certificate.public_bytes(serialization.Encoding.DER)
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return GeneratedKey(kid, private_pem, der, jwks_member(jwk, kid, der))


def jwks_member(jwk: dict[str, str], kid: str, certificate_der: bytes) -> dict[str, Any]:
    return {
        "alg": "RS256",
        "kty": "RSA",
        "use": "sig",
        "kid": kid,
        "n": jwk["n"],
        "e": jwk["e"],
        "x5c": [base64.b64encode(certificate_der).decode()],
        "x5t#S256": b64url(hashlib.sha256(certificate_der).digest()),
    }


def jwks_member_from_certificate(kid: str, certificate_der: bytes) -> dict[str, Any]:
    from cryptography import x509

    certificate = x509.load_der_x509_certificate(certificate_der)
    public_key = certificate.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    return jwks_member(public_jwk(public_key), kid, certificate_der)


class SecretBox:
    """AES-256-GCM under a key derived from the deployment secret (`AUTHKEEP_SECRET_KEY`).

    The associated data binds a ciphertext to its row, so a key blob copied onto another
    environment's row does not decrypt.
    """

    _VERSION = b"\x01"

    def __init__(self, deployment_secret: str) -> None:
        self._deployment_secret = deployment_secret

    @functools.cached_property
    def _aead(self) -> AESGCM:
        # Derived on first use: the first HKDF and AES-GCM operations initialize cryptography's
        # OpenSSL (~1 MB), which a worker that has not yet issued or read a secret does without.
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"authkeep", info=b"signing-keys-at-rest"
        ).derive(self._deployment_secret.encode())
        return AESGCM(derived)

    def encrypt(self, plaintext: bytes, associated_data: str) -> bytes:
        nonce = os.urandom(12)
        return (
            self._VERSION + nonce + self._aead.encrypt(nonce, plaintext, associated_data.encode())
        )

    def decrypt(self, blob: bytes, associated_data: str) -> bytes:
        if blob[:1] != self._VERSION:
            raise ValueError("unknown encrypted key format")
        return self._aead.decrypt(blob[1:13], blob[13:], associated_data.encode())
