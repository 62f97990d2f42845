"""The client library's public surface is what `__all__` lists, and this test pins it: adding,
renaming or removing a public name means changing this file too (as httpx's
tests/test_exported_members.py does)."""

from __future__ import annotations

import authkeep.integrations
import authkeep.integrations.flask
import authkeep.integrations.starlette

LIBRARY = {
    # session core
    "AuthKit",
    "AsyncAuthKit",
    "AuthKitConfig",
    "AuthSession",
    "CallbackResult",
    "Cookie",
    "Principal",
    "SessionResult",
    "SignInRedirect",
    "SignOutRedirect",
    "safe_return_to",
    # bearer credentials
    "ApiKey",
    "ApiKeyValidator",
    "AsyncApiKeyValidator",
    # verifier
    "AccessTokenClaims",
    "AsyncTokenVerifier",
    "TokenVerifier",
    # sealing
    "Password",
    "seal_data",
    "unseal_data",
    "unseal_fernet_session",
    # errors
    "AuthKitError",
    "AuthenticationFailed",
    "AuthenticationRequired",
    "CallbackError",
    "ConfigurationError",
    "CookieTooLarge",
    "PermissionDenied",
    "VerifierError",
    "TokenInvalid",
    "TokenExpired",
    "TokenSignatureInvalid",
    "UnknownSigningKey",
    "UnsupportedAlgorithm",
    "WrongAudience",
    "WrongClient",
    "WrongIssuer",
    "JwksUnavailable",
    "SealError",
    "SealInvalid",
    "SealExpired",
    "PasswordError",
    "PasswordTooShort",
}

STARLETTE = {
    "AuthKitMiddleware",
    "RequestAuth",
    "auth_router",
    "current_session",
    "request_auth",
    "require_bearer",
    "require_permission",
    "require_role",
    "require_user",
}

FLASK = {
    "AuthKitFlask",
    "bearer_required",
    "current_principal",
    "current_session",
    "current_user",
    "get_session",
    "login_required",
    "permission_required",
    "role_required",
}


def test_the_library_surface_is_pinned() -> None:
    exported = authkeep.integrations.__all__
    assert len(exported) == len(set(exported)), "a name is listed twice"
    assert set(exported) == LIBRARY
    assert exported == sorted(exported), "keep __all__ sorted"
    for name in exported:
        assert getattr(authkeep.integrations, name) is not None, name


def test_the_starlette_surface_is_pinned() -> None:
    assert set(authkeep.integrations.starlette.__all__) == STARLETTE
    for name in STARLETTE:
        assert callable(getattr(authkeep.integrations.starlette, name)), name


def test_the_flask_surface_is_pinned() -> None:
    exported = authkeep.integrations.flask.__all__
    assert set(exported) == FLASK and exported == sorted(exported)
    for name in FLASK:
        assert getattr(authkeep.integrations.flask, name) is not None, name


def test_every_error_has_a_code_and_the_families_are_apart() -> None:
    errors = [getattr(authkeep.integrations, name) for name in LIBRARY]
    for error in errors:
        if isinstance(error, type) and issubclass(error, authkeep.integrations.AuthKitError):
            assert isinstance(error.code, str) and isinstance(error.status, int), error
    assert issubclass(authkeep.integrations.TokenExpired, authkeep.integrations.TokenInvalid)
    assert not issubclass(authkeep.integrations.JwksUnavailable, authkeep.integrations.TokenInvalid)
    assert issubclass(authkeep.integrations.ConfigurationError, ValueError)
