"""The wire rules every endpoint shares (CONTRACT.md §0.3, §1): JSON bodies with a JSON content
type, the WorkOS error shapes, API-key authentication, pagination, `Idempotency-Key` replay."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from authkeep.api.state import app_state
from authkeep.crypto.secrets import has_id_shape
from authkeep.errors import (
    AuthkeepError,
    Conflict,
    PayloadTooLarge,
    RateLimited,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from authkeep.services.environments import environment_for_api_key
from authkeep.store.models import Environment, IdempotencyRecord
from authkeep.store.pagination import Page, PageRequest

if TYPE_CHECKING:
    from pydantic import ValidationError

    from authkeep.api.bodies import Body

log = logging.getLogger("authkeep.api")
JSON_TYPE = "application/json"
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)


def timestamp(value: dt.datetime | None) -> str | None:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC (CONTRACT.md §0.2)."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00"


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, media_type=JSON_TYPE, headers=headers)


def error_response(error: AuthkeepError) -> Response:
    return json_response(error.body(), error.status, headers=error.headers)


def server_error_response(request_id: str, headers: dict[str, str] | None = None) -> Response:
    """A 500 is a bug: logged with the request ID (call it where the exception is being
    handled), answered in the WorkOS shape, leaking nothing."""
    log.exception("unhandled error request_id=%s", request_id)
    body = {"code": "server_error", "message": f"Internal error. Request ID: {request_id}."}
    return json_response(body, 500, headers=headers)


def list_response(page: Page[Any], render: Callable[[Any], dict[str, Any]]) -> Response:
    return json_response(
        {
            "object": "list",
            "data": [render(item) for item in page.data],
            "list_metadata": {"before": page.before, "after": page.after},
        }
    )


# Request bodies -------------------------------------------------------------------------------


_ERROR_CODES = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_long",
    "too_short": "too_short",
}


def _field_name(location: tuple[Any, ...]) -> str:
    name = ""
    for part in location:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"


def validation_failed(error: ValidationError) -> ValidationFailed:
    problems = []
    for item in error.errors(include_url=False):
        kind = item["type"]
        code = _ERROR_CODES.get(kind, "invalid_type" if kind.endswith("_type") else "invalid")
        field = _field_name(tuple(item["loc"]))
        message = "Unknown field." if kind == "extra_forbidden" else item["msg"]
        problems.append({"field": field, "code": code, "message": f"{field}: {message}"})
    summary = "; ".join(p["message"] for p in problems[:5])
    return ValidationFailed(problems, f"Validation failed: {summary}")


async def read_body(request: Request) -> bytes:
    limit = app_state(request).settings.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge()
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


M = TypeVar("M", bound="Body")


async def parse_body(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    """The validated body, and a dict of only the fields the client sent. `model` is one of
    api/bodies.py, which has imported pydantic by the time it gets here."""
    from pydantic import ValidationError

    raw = request.state.raw_body if hasattr(request.state, "raw_body") else await read_body(request)
    if raw.strip():
        content_type = request.headers.get("content-type", JSON_TYPE).split(";")[0].strip()
        if content_type not in (JSON_TYPE, "text/json", "") and not content_type.endswith("+json"):
            raise UnsupportedMediaType(f"Send the body as application/json, not {content_type}.")
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValidationFailed(
                [{"field": "body", "code": "invalid_json", "message": str(error)}],
                f"The request body is not valid JSON: {error}",
            ) from None
    else:
        # Node sends an empty body on some POSTs and Python a JSON content type on every call.
        data = {}
    if not isinstance(data, dict):
        raise ValidationFailed(
            [
                {
                    "field": "body",
                    "code": "invalid_type",
                    "message": "The body must be a JSON object.",
                }
            ],
            "The request body must be a JSON object.",
        )
    try:
        parsed = model.model_validate(data)
    except ValidationError as error:
        raise validation_failed(error) from None
    return parsed, {name: getattr(parsed, name) for name in parsed.model_fields_set}


# Query parameters ----------------------------------------------------------------------------


def query_list(request: Request, name: str) -> list[str] | None:
    """Array parameters arrive comma-joined or as repeated keys (CONTRACT.md §7)."""
    values = request.query_params.getlist(name)
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def page_request(request: Request, id_prefix: str) -> PageRequest:
    params = request.query_params
    errors = []
    limit = 10
    raw_limit = params.get("limit")
    if raw_limit is not None:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
            errors.append({"field": "limit", "code": "invalid", "message": "limit is 1 to 100."})
        else:
            limit = int(raw_limit)
    order = params.get("order") or "desc"
    if order not in ("asc", "desc", "normal"):
        errors.append({"field": "order", "code": "invalid", "message": "order is asc or desc."})
    cursors = {}
    for name in ("before", "after"):
        value = params.get(name) or None
        if value is not None and not has_id_shape(value, id_prefix):
            errors.append(
                {
                    "field": name,
                    "code": "invalid_cursor",
                    "message": f"{name} must be the ID of a {id_prefix} object ({id_prefix}_...).",
                }
            )
        cursors[name] = value
    if errors:
        raise ValidationFailed(errors, "; ".join(e["message"] for e in errors))
    return PageRequest(limit=limit, before=cursors["before"], after=cursors["after"], order=order)


# Authentication and transactions ---------------------------------------------------------------


@dataclass
class ApiContext:
    session: AsyncSession
    environment: Environment


Handler = Callable[[Request, ApiContext], Awaitable[Response]]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def api_key_required(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authenticate the API key, run the handler in one transaction, honour `Idempotency-Key`."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        state = app_state(request)
        token = bearer_token(request)
        if token is None:
            raise Unauthorized("Send your API key as Authorization: Bearer sk_...")
        idempotency_key = request.headers.get("idempotency-key")
        if request.method == "POST" and idempotency_key:
            request.state.raw_body = await read_body(request)
        read_only = request.method == "GET"
        async with (state.read_sessions if read_only else state.sessions)() as session:
            environment = await environment_for_api_key(session, token)
            if environment is None:
                raise Unauthorized("The API key is invalid or has been revoked.")
            context = ApiContext(session, environment)
            if request.method != "POST" or not idempotency_key:
                response = await handler(request, context)
                if not read_only:
                    await session.commit()
                return response
            return await _idempotent(request, context, handler, idempotency_key)

    return endpoint


def _request_hash(request: Request) -> str:
    digest = hashlib.sha256(request.url.path.encode() + b"\n" + request.state.raw_body)
    return digest.hexdigest()


async def _replay(
    session: AsyncSession, environment_id: str, key: str, request_hash: str
) -> Response | None:
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.environment_id == environment_id, IdempotencyRecord.key == key
        )
    )
    if record is None or record.created_at < dt.datetime.now(dt.UTC) - IDEMPOTENCY_WINDOW:
        return None
    if record.request_hash != request_hash:
        raise Conflict(
            "This Idempotency-Key was already used with a different request.",
            code="idempotency_key_reused",
        )
    return Response(
        record.response_body or "",
        status_code=record.status or 200,
        media_type=JSON_TYPE,
        headers={"Idempotent-Replayed": "true"},
    )


async def _idempotent(
    request: Request, context: ApiContext, handler: Handler, key: str
) -> Response:
    session, environment_id = context.session, context.environment.id
    if len(key) > 255:
        raise ValidationFailed.field("Idempotency-Key", "too_long", "Use at most 255 characters.")
    request_hash = _request_hash(request)
    replayed = await _replay(session, environment_id, key, request_hash)
    if replayed is not None:
        return replayed
    try:
        response = await handler(request, context)
        if 200 <= response.status_code < 300:
            await _store_result(session, environment_id, key, request_hash, response)
        await session.commit()
    except (IntegrityError, AuthkeepError) as error:
        # A concurrent request with the same key may have done the work first (our insert then
        # fails on its unique keys): answer with its result, as a retry would get.
        await session.rollback()
        replayed = await _replay(session, environment_id, key, request_hash)
        if replayed is not None:
            return replayed
        if isinstance(error, IntegrityError):
            raise RateLimited(1, "A concurrent request changed the same data; retry.") from None
        raise
    return response


async def _store_result(
    session: AsyncSession, environment_id: str, key: str, request_hash: str, response: Response
) -> None:
    # Stored in the same transaction as the work, so a retry never sees the work without its
    # record. Records past the replay window go first, this key's included.
    await session.execute(
        delete(IdempotencyRecord).where(
            IdempotencyRecord.environment_id == environment_id,
            IdempotencyRecord.created_at < dt.datetime.now(dt.UTC) - IDEMPOTENCY_WINDOW,
        )
    )
    session.add(
        IdempotencyRecord(
            environment_id=environment_id,
            key=key,
            request_hash=request_hash,
            status=response.status_code,
            response_body=bytes(response.body).decode(),
        )
    )
    await session.flush()
