"""Shared pieces of the workspace routes: field types, errors, paging and workspace-scoped lookups."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import unquote, unquote_plus

from fastapi import Depends, HTTPException, Query, Request, status
from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from server.api.deps import Principal, get_settings_dep
from server.settings import Settings
from server.store.tables import Base

T = TypeVar("T", bound=Base)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are UTC (SQLite drops the offset); aware ones are converted to UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)


UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Text = Annotated[str, StringConstraints(max_length=20_000)]
ListItem = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


def http_url(value: str) -> str:
    """An http(s) URL or empty. Stored as a reference only: the server never fetches it."""
    value = value.strip()
    if value and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    if any(ch.isspace() for ch in value):
        raise ValueError("a URL cannot contain spaces")
    return value


Url = Annotated[str, StringConstraints(max_length=500), AfterValidator(http_url)]


def app_settings(settings: Annotated[Settings, Depends(get_settings_dep)]) -> Settings:
    return settings


AppSettings = Annotated[Settings, Depends(app_settings)]


def data_dir(settings: AppSettings) -> Path:
    return settings.data_dir.resolve()


DataDir = Annotated[Path, Depends(data_dir)]


async def reject_nul(request: Request) -> None:
    """NUL characters are refused everywhere (PostgreSQL cannot store them): in the path, the query and JSON."""
    if "\x00" in unquote(request.url.path) or "\x00" in unquote_plus(request.url.query):
        unprocessable("NUL characters are not allowed in the URL")
    if request.headers.get("content-type", "").startswith("application/json"):
        body = await request.body()
        if b"\x00" in body or b"\\u0000" in body.lower():
            unprocessable("NUL characters are not allowed in the request body")


def not_found(what: str) -> NoReturn:
    raise HTTPException(status.HTTP_404_NOT_FOUND, f"no such {what}")


def forbidden(message: str) -> NoReturn:
    raise HTTPException(status.HTTP_403_FORBIDDEN, message)


def unprocessable(message: str) -> NoReturn:
    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


def conflict(message: str) -> NoReturn:
    raise HTTPException(status.HTTP_409_CONFLICT, message)


def in_workspace(db: Session, model: type[T], row_id: str, principal: Principal, what: str) -> T:
    """The row if it belongs to the caller's workspace; 404 otherwise (another workspace's ids reveal nothing)."""
    row = db.get(model, row_id)
    if row is None or getattr(row, "workspace_id", None) != principal.workspace_id:
        not_found(what)
    return row


def may_manage(principal: Principal, owner_id: str | None) -> bool:
    """Members change their own things; admins everything in the workspace; read-only users nothing."""
    if principal.role == "admin":
        return True
    return principal.at_least("member") and owner_id is not None and owner_id == principal.user_id


def require_manage(principal: Principal, owner_id: str | None, what: str, who: str = "creator") -> None:
    if not may_manage(principal, owner_id):
        forbidden(f"only the {what}'s {who} or an admin can do this")


class PageParams(BaseModel):
    page: int = Field(1, ge=1)
    page_size: int = Field(25, ge=1, le=200)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_params(
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 25,
) -> PageParams:
    return PageParams(page=page, page_size=page_size)


Paging = Annotated[PageParams, Depends(page_params)]


def like_pattern(text: str) -> str:
    """A LIKE pattern that matches `text` literally anywhere (escape character: backslash)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def user_label(name: str | None, email: str | None) -> str:
    return (name or "").strip() or (email or "")


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
