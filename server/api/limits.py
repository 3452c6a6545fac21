"""Upload size limits enforced before the multipart body is parsed (Starlette would spool any size to disk)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response, status
from fastapi.routing import APIRoute

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and small form fields


def upload_limit(max_bytes: int, message: str) -> type[APIRoute]:
    """A route class refusing multipart requests larger than `max_bytes` (plus overhead), or of unknown size."""

    class LimitedRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def limited(request: Request) -> Response:
                if request.headers.get("content-type", "").startswith("multipart/"):
                    length = request.headers.get("content-length", "")
                    if not length.isdigit():
                        raise HTTPException(status.HTTP_411_LENGTH_REQUIRED, "send the upload with a Content-Length")
                    if int(length) > max_bytes + MULTIPART_OVERHEAD:
                        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)
                return await handler(request)

            return limited

    return LimitedRoute
