"""RS256 JSON Web Tokens in compact form (RFC 7515, RFC 7519), on `cryptography` alone.

Only RS256 exists here: the header is fixed on signing, and verification refuses any other
`alg` (`none`, HS256 with an RSA public key as the secret, ...) before touching a key.
"""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from authkeep.crypto.keys import b64url

_PADDING = padding.PKCS1v15()
_HASH = hashes.SHA256()


class JwtError(Exception):
    """The token is malformed, signed with another algorithm or key, or its signature is wrong."""


def _b64decode(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (ValueError, TypeError):
        raise JwtError("a token segment is not base64url") from None


@functools.lru_cache(maxsize=64)
def _header(kid: str) -> str:
    return b64url(
        json.dumps({"alg": "RS256", "typ": "JWT", "kid": kid}, separators=(",", ":")).encode()
    )


def encode(claims: dict[str, Any], private_key: RSAPrivateKey, kid: str) -> str:
    header = _header(kid)
    payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{b64url(private_key.sign(signing_input, _PADDING, _HASH))}"


def unverified_header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("not a compact JWS: expected three dot-separated parts")
    try:
        header = json.loads(_b64decode(parts[0]))
    except ValueError:
        raise JwtError("the token header is not JSON") from None
    if not isinstance(header, dict):
        raise JwtError("the token header is not a JSON object")
    return header


def verify(token: str, public_key: RSAPublicKey) -> dict[str, Any]:
    """The claims of an RS256 token signed by `public_key`; no time or audience checks here."""
    header = unverified_header(token)
    if header.get("alg") != "RS256":
        raise JwtError(f"algorithm {header.get('alg')!r} is not accepted; only RS256 is")
    header_part, payload_part, signature_part = token.split(".")
    try:
        public_key.verify(
            _b64decode(signature_part), f"{header_part}.{payload_part}".encode(), _PADDING, _HASH
        )
    except InvalidSignature:
        raise JwtError("the signature does not match") from None
    try:
        claims = json.loads(_b64decode(payload_part))
    except ValueError:
        raise JwtError("the token payload is not JSON") from None
    if not isinstance(claims, dict):
        raise JwtError("the token payload is not a JSON object")
    return claims
