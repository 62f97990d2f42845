"""authkeep's client library: sign people in against authkeep or WorkOS from a Python app.

    from authkeep.integrations import AsyncAuthKit, AuthKit, TokenVerifier, seal_data

* `AuthKit` / `AsyncAuthKit`: the session core (sign-in URL with PKCE, callback, sealed session
  cookie, transparent refresh, organization switch, sign-out, bearer checks), configured from the
  variables authkit-nextjs reads (`AuthKitConfig`).
* `TokenVerifier` / `AsyncTokenVerifier`: access-token verification with a cached JWKS.
* `seal_data` / `unseal_data`: iron `Fe26.2` seals, the cookie format of authkit-nextjs.
* Framework integrations live in their own modules, which need the framework installed:
  `authkeep.integrations.starlette` (Starlette and FastAPI, `pip install "authkeep[fastapi]"`),
  `authkeep.integrations.flask` (Flask, `pip install "authkeep[flask]"`).

This `__all__` is the public surface; a test pins it.
"""

from authkeep.integrations.async_client import AsyncAuthKit
from authkeep.integrations.bearer import ApiKey, ApiKeyValidator, AsyncApiKeyValidator
from authkeep.integrations.config import AuthKitConfig
from authkeep.integrations.errors import (
    AuthenticationFailed,
    AuthenticationRequired,
    AuthKitError,
    CallbackError,
    ConfigurationError,
    CookieTooLarge,
    JwksUnavailable,
    PermissionDenied,
    TokenExpired,
    TokenInvalid,
    TokenSignatureInvalid,
    UnknownSigningKey,
    UnsupportedAlgorithm,
    VerifierError,
    WrongAudience,
    WrongClient,
    WrongIssuer,
)
from authkeep.integrations.flows import Principal
from authkeep.integrations.sealing import (
    Password,
    PasswordError,
    PasswordTooShort,
    SealError,
    SealExpired,
    SealInvalid,
    seal_data,
    unseal_data,
    unseal_fernet_session,
)
from authkeep.integrations.session import (
    AuthSession,
    CallbackResult,
    Cookie,
    SessionResult,
    SignInRedirect,
    SignOutRedirect,
    safe_return_to,
)
from authkeep.integrations.sync_client import AuthKit
from authkeep.integrations.verifier import AccessTokenClaims, AsyncTokenVerifier, TokenVerifier

__all__ = [
    "AccessTokenClaims",
    "ApiKey",
    "ApiKeyValidator",
    "AsyncApiKeyValidator",
    "AsyncAuthKit",
    "AsyncTokenVerifier",
    "AuthKit",
    "AuthKitConfig",
    "AuthKitError",
    "AuthSession",
    "AuthenticationFailed",
    "AuthenticationRequired",
    "CallbackError",
    "CallbackResult",
    "ConfigurationError",
    "Cookie",
    "CookieTooLarge",
    "JwksUnavailable",
    "Password",
    "PasswordError",
    "PasswordTooShort",
    "PermissionDenied",
    "Principal",
    "SealError",
    "SealExpired",
    "SealInvalid",
    "SessionResult",
    "SignInRedirect",
    "SignOutRedirect",
    "TokenExpired",
    "TokenInvalid",
    "TokenSignatureInvalid",
    "TokenVerifier",
    "UnknownSigningKey",
    "UnsupportedAlgorithm",
    "VerifierError",
    "WrongAudience",
    "WrongClient",
    "WrongIssuer",
    "safe_return_to",
    "seal_data",
    "unseal_data",
    "unseal_fernet_session",
]
