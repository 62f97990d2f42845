"""The server's error tree: each class knows its HTTP status and WorkOS wire shape (§1.4).

Services raise these; `api/wire.py` renders them as JSON. Anything else that escapes a handler is
a bug and becomes a JSON 500.
"""

from __future__ import annotations

from typing import Any


class AuthkeepError(Exception):
    status = 400
    code = "bad_request"
    default_message = "Bad request."

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or self.default_message
        self.extra = extra
        super().__init__(self.message)

    @property
    def headers(self) -> dict[str, str]:
        return {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


class BadRequest(AuthkeepError):
    """400 with a specific code, e.g. `user_creation_error` or `invalid_metadata`."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        self.code = code
        super().__init__(message, **extra)


class Unauthorized(AuthkeepError):
    status = 401
    code = "unauthorized"
    default_message = "Unauthorized"


class Forbidden(AuthkeepError):
    status = 403
    code = "forbidden"
    default_message = "Forbidden."


class NotFound(AuthkeepError):
    status = 404
    code = "entity_not_found"

    @classmethod
    def entity(cls, entity: str, identifier: str) -> NotFound:
        return cls(f"{entity} not found: '{identifier}'.", entity_id=identifier)


class RouteNotFound(AuthkeepError):
    status = 404
    code = "not_found"
    default_message = "No such endpoint."


class MethodNotAllowed(AuthkeepError):
    status = 405
    code = "method_not_allowed"
    default_message = "This method is not allowed on this endpoint."


class Conflict(AuthkeepError):
    status = 409
    code = "conflict"

    def __init__(self, message: str, code: str | None = None, **extra: Any) -> None:
        if code:
            self.code = code
        super().__init__(message, **extra)


class PayloadTooLarge(AuthkeepError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is larger than 1 MiB."


class UnsupportedMediaType(AuthkeepError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Send the request body as application/json."


class ValidationFailed(AuthkeepError):
    """422 `invalid_request_parameters` with per-field errors."""

    status = 422
    code = "invalid_request_parameters"
    default_message = "Validation failed."

    def __init__(self, errors: list[dict[str, str]], message: str | None = None) -> None:
        super().__init__(message, errors=errors)

    @classmethod
    def field(cls, field: str, code: str, message: str) -> ValidationFailed:
        return cls([{"field": field, "code": code, "message": message}], message)


class UnprocessableEntity(AuthkeepError):
    """422 with a specific code, e.g. `invalid_role`."""

    status = 422

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        self.code = code
        super().__init__(message, **extra)


class RateLimited(AuthkeepError):
    status = 429
    code = "rate_limit_exceeded"
    default_message = "Too many requests. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}

    def body(self) -> dict[str, Any]:
        # Both shapes: management endpoints use `code`, the grant endpoint's spec the OAuth one.
        return {**super().body(), "error": "too_many_requests", "error_description": self.message}


class OAuthError(AuthkeepError):
    """RFC 6749 shape `{error, error_description}`, used by the grant endpoints."""

    error = "invalid_request"

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "error_description": self.message}


class InvalidGrant(OAuthError):
    # Always 400, never 401: Node maps 401 to UnauthorizedException and drops the body (§0.3).
    error = "invalid_grant"


class InvalidClient(OAuthError):
    error = "invalid_client"


class ServiceUnavailable(AuthkeepError):
    status = 503
    code = "service_unavailable"
    default_message = "The service is unavailable."
