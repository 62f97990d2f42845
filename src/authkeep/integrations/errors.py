"""The client library's errors: what a token verifier raises, each with a stable `code`."""

from __future__ import annotations

__all__ = [
    "JwksUnavailable",
    "TokenExpired",
    "TokenInvalid",
    "TokenSignatureInvalid",
    "UnknownSigningKey",
    "UnsupportedAlgorithm",
    "VerifierError",
    "WrongAudience",
    "WrongClient",
    "WrongIssuer",
]


class VerifierError(Exception):
    """Base of everything the verifier raises."""

    code = "verifier_error"


class TokenInvalid(VerifierError):
    """The token must be rejected; the message says why. Treat as "not signed in" (401)."""

    code = "token_invalid"


class TokenExpired(TokenInvalid):
    code = "token_expired"


class TokenSignatureInvalid(TokenInvalid):
    code = "token_signature_invalid"


class UnknownSigningKey(TokenInvalid):
    """The token's `kid` is not in the client's JWKS, even after a refetch."""

    code = "unknown_signing_key"


class WrongIssuer(TokenInvalid):
    code = "wrong_issuer"


class WrongAudience(TokenInvalid):
    code = "wrong_audience"


class WrongClient(TokenInvalid):
    """The token belongs to another client ID (often: another environment's credentials)."""

    code = "wrong_client"

    def __init__(self, token_client_id: str, expected_client_id: str) -> None:
        super().__init__(
            f"token issued for client {token_client_id}, "
            f"this verifier expects client {expected_client_id}"
        )
        self.token_client_id = token_client_id
        self.expected_client_id = expected_client_id


class UnsupportedAlgorithm(TokenInvalid):
    code = "unsupported_algorithm"


class JwksUnavailable(VerifierError):
    """The keys cannot be fetched and no usable cached copy is left (503, not 401)."""

    code = "jwks_unavailable"
