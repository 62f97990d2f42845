"""`/healthz` (the process answers) and `/readyz` (the database answers too)."""

from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from authkeep.api.state import app_state
from authkeep.api.wire import json_response
from authkeep.errors import ServiceUnavailable


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        async with app_state(request).read_sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:
        raise ServiceUnavailable(
            f"The database is not reachable: {type(error).__name__}."
        ) from None
    return json_response({"status": "ready"})


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
