"""HTML pages. The web app is one HTML shell (`app.html`) plus ES modules under `/static/app/`: the shell is
served for `/app` and every `/app/...` route and the modules route in the browser. The live call keeps its own
page (`/call/{session_id}`). Everything the pages load comes from this server (a Content-Security-Policy says so
to the browser too): no CDN, no web font, no build step."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from server.api.deps import SESSION_COOKIE
from server.security import unsign

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
static_files = StaticFiles(directory=STATIC)

# Same-origin only. 'self' covers the WebSocket chat on this host; media from the signed artifact URLs
# (same origin) and the WebRTC stream (blob/mediastream). Inline style attributes are allowed for SVG charts.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {"Cache-Control": "no-store", "Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"}


def _signed_in(request: Request) -> bool:
    token = request.cookies.get(SESSION_COOKIE)
    return bool(token and unsign(request.app.state.settings.secret_key, token, purpose="session"))


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC / name, media_type="text/html", headers=HEADERS)


def _to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


SSO_LINK = '<p class="muted small"><a href="/auth/oidc/login">Sign in with your company account</a></p>'


@router.get("/login")
def login_page(request: Request) -> Response:
    """The sign-in form; the single sign-on link only where SSO is configured."""
    html = (STATIC / "login.html").read_text(encoding="utf-8")
    html = html.replace("<!-- sso -->", SSO_LINK if request.app.state.settings.oidc.enabled else "")
    return Response(html, media_type="text/html", headers=HEADERS)


@router.get("/call/{session_id}", response_model=None)
def call_page(session_id: str, request: Request) -> Response:
    if not _signed_in(request):
        return _to_login(request)
    return _page("call.html")


@router.get("/app", response_model=None)
@router.get("/app/{path:path}", response_model=None)
def app_shell(request: Request, path: str = "") -> Response:
    """The single-page app: one shell for every route under /app; the modules render the page."""
    if not _signed_in(request):
        return _to_login(request)
    return _page("app.html")


@router.get("/", response_model=None)
def home(request: Request) -> Response:
    if not _signed_in(request):
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/app", status_code=303)
