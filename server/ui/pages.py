"""HTML pages. Each page is a small shell; its script talks to the REST API with the session cookie."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from server.api.deps import SESSION_COOKIE
from server.security import unsign

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=STATIC)


def _signed_in(request: Request) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    return bool(token and unsign(request.app.state.settings.secret_key, token, purpose="session"))


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html", headers={"Cache-Control": "no-store"})


@router.get("/login")
def login_page() -> FileResponse:
    return _page("login.html")


@router.get("/call/{session_id}", response_model=None)
def call_page(session_id: str, request: Request) -> Response:
    if not _signed_in(request):
        return RedirectResponse(f"/login?next={quote(str(request.url.path))}", status_code=303)
    return _page("call.html")


@router.get("/", response_model=None)
def home(request: Request) -> Response:
    if not _signed_in(request):
        return RedirectResponse("/login", status_code=303)
    return HTMLResponse('<!doctype html><meta http-equiv="refresh" content="0; url=/app">')
