"""The ceiling for bench/api.py: a bare Starlette app with one route returning constant JSON.

It runs under uvicorn with the options `authkeep serve` passes (uvloop/httptools when installed,
no access log, proxy headers on), so the gap to authkeep is the cost of authkeep itself.

    python bench/bare_app.py --port 8800 --workers 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

PATH = "/constant"
BODY = {"object": "constant", "status": "ok"}


async def constant(request: Request) -> Response:
    return JSONResponse(BODY)


app = Starlette(routes=[Route(PATH, constant, methods=["GET"])])


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args()
    # The same keyword arguments as authkeep.cli.serve.cmd_serve, minus the factory.
    uvicorn.run(
        "bare_app:app",
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
        proxy_headers=True,
        ws="none",
    )


if __name__ == "__main__":
    main()
