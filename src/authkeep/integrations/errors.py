"""The client library's errors, each with a stable `code`.

Two families: `VerifierError` (what a token verifier raises) and `AuthKitError` (configuration,
sign-in callbacks, code exchange and refresh, cookies, bearer checks). An `AuthKitError` carries
the HTTP `status` a web integration answers with.
"""

from __future__ import annotations

__all__ = [
    "AuthKitError",
    "AuthenticationFailed",
    "AuthenticationRequired",
    "CallbackError",
    "ConfigurationError",
    "CookieTooLarge",
    "JwksUnavailable",
    "PermissionDenied",
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


class AuthKitError(Exception):
    """Base of the session and bearer errors; `status` is the HTTP status to answer with."""

    code = "authkit_error"
    status = 500


class ConfigurationError(AuthKitError, ValueError):
    """A setting is missing or unusable; the message names the variable to set."""

    code = "configuration_error"


class CallbackError(AuthKitError):
    """The redirect back from sign-in cannot be accepted: no code, an altered or foreign `state`,
    no matching verifier cookie (another browser, or more than 10 minutes), or an `error` sent
    back by the server. `code` says which."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class AuthenticationFailed(AuthKitError):
    """`POST /user_management/authenticate` refused a code or a refresh token.

    `error` is the server's `error` or `code` (`invalid_grant`, `sso_required`, ...), `status`
    the HTTP status (0 for a network failure), `body` the JSON answer. `is_transient` is true for
    408, 429, 5xx and network failures: the session is kept and the request is answered as signed
    out. Anything else is final and clears the session cookie.
    """

    code = "authentication_failed"

    def __init__(self, status: int, error: str, message: str, body: object = None) -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.status = status
        self.error = error
        self.body = body

    @property
    def is_transient(self) -> bool:
        return self.status in (0, 408, 429) or self.status >= 500


class CookieTooLarge(AuthKitError):
    """A cookie is larger than browsers keep (4096 bytes for name and value): they would drop it
    without a word, so this is raised instead. Keep less in the session (e.g. smaller user
    `metadata`)."""

    code = "cookie_too_large"

    def __init__(self, name: str, size: int, limit: int) -> None:
        super().__init__(
            f"the {name} cookie would be {size} bytes, over the {limit}-byte limit of browsers"
        )
        self.name = name
        self.size = size
        self.limit = limit


class AuthenticationRequired(AuthKitError):
    """No valid credentials: answered 401 with `WWW-Authenticate: Bearer ...`, or for a page with
    a redirect to sign-in. `error` is the RFC 6750 error code (`invalid_token`,
    `invalid_request`), or None for a bare `Bearer` challenge."""

    status = 401

    def __init__(self, code: str, message: str, error: str | None = "invalid_token") -> None:
        super().__init__(message)
        self.code = code
        self.error = error


class PermissionDenied(AuthKitError):
    """Signed in, but without the permission or role the route needs (403)."""

    code = "forbidden"
    status = 403
