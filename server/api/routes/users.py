"""Users of the workspace: a directory for members; invite, change role, reset password, deactivate for admins."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, EmailStr, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.api.common import Name, UtcDatetime, conflict, forbidden, in_workspace, like_pattern
from server.api.deps import DB, Admin, Member, Principal
from server.security import hash_password
from server.store.tables import User
from server.workspace.audit import record

router = APIRouter(prefix="/api/v1/users", tags=["users"])
Role = Literal["admin", "member", "read_only"]
Password = Annotated[str, Field(min_length=8, max_length=500)]


class UserCreate(BaseModel):
    email: EmailStr
    name: Name | None = None
    role: Role = "member"
    password: Password | None = Field(None, description="omit to invite without a password (SSO, or set later)")


class UserUpdate(BaseModel):
    name: Name | None = None
    role: Role | None = None
    active: bool | None = None
    password: Password | None = None


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: str
    active: bool
    has_password: bool
    created_at: UtcDatetime


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        has_password=bool(user.password_hash),
        created_at=user.created_at,
    )


def _other_active_admins(db: Session, user: User) -> int:
    query = select(func.count(User.id)).where(
        User.workspace_id == user.workspace_id, User.role == "admin", User.active.is_(True), User.id != user.id
    )
    return int(db.scalar(query) or 0)


@router.get("", response_model=list[UserOut])
def list_users(
    principal: Member,
    db: DB,
    q: Annotated[str | None, Query(max_length=200, description="search name and email")] = None,
    role: Role | None = None,
    include_inactive: bool = False,
) -> list[UserOut]:
    query = select(User).where(User.workspace_id == principal.workspace_id)
    if include_inactive and principal.role != "admin":
        forbidden("only admins can list deactivated users")
    if not include_inactive:
        query = query.where(User.active.is_(True))
    if role:
        query = query.where(User.role == role)
    if q:
        pattern = like_pattern(q.strip())
        query = query.where(User.name.ilike(pattern, escape="\\") | User.email.ilike(pattern, escape="\\"))
    return [user_out(u) for u in db.scalars(query.order_by(func.lower(User.email)))]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserCreate, principal: Admin, db: DB) -> UserOut:
    email = body.email.strip().lower()
    if db.scalar(select(User.id).where(User.workspace_id == principal.workspace_id, User.email == email)):
        conflict(f"{email} already has an account in this workspace")
    user = User(
        workspace_id=principal.workspace_id,
        email=email,
        name=body.name or email.split("@")[0],
        role=body.role,
        password_hash=hash_password(body.password) if body.password else None,
        active=True,
    )
    db.add(user)
    db.flush()
    record(db, principal.workspace_id, principal.user_id, "user.create", user.id, email=email, role=body.role)
    return user_out(user)


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: str, principal: Member, db: DB) -> UserOut:
    return user_out(in_workspace(db, User, user_id, principal, "user"))


def _update(db: Session, user: User, body: UserUpdate, principal: Principal) -> None:
    demoted = body.role is not None and body.role != "admin"
    deactivated = body.active is False
    if user.role == "admin" and user.active and (demoted or deactivated) and not _other_active_admins(db, user):
        conflict("the workspace needs at least one active admin")
    actor, workspace = principal.user_id, principal.workspace_id
    if body.role is not None and body.role != user.role:
        record(db, workspace, actor, "user.role_change", user.id, email=user.email, before=user.role, after=body.role)
        user.role = body.role
    if body.active is not None and body.active != user.active:
        record(db, workspace, actor, "user.activate" if body.active else "user.deactivate", user.id, email=user.email)
        user.active = body.active
    if body.password is not None:
        record(db, workspace, actor, "user.password_reset", user.id, email=user.email)
        user.password_hash = hash_password(body.password)
    if body.name is not None:
        user.name = body.name


@router.patch("/{user_id}", response_model=UserOut)
def update_user(user_id: str, body: UserUpdate, principal: Admin, db: DB) -> UserOut:
    user = in_workspace(db, User, user_id, principal, "user")
    _update(db, user, body, principal)
    db.flush()
    return user_out(user)


@router.delete("/{user_id}", status_code=204)
def deactivate_user(user_id: str, principal: Admin, db: DB) -> Response:
    """Deactivate (soft): the account can no longer sign in or use API keys; its history stays."""
    user = in_workspace(db, User, user_id, principal, "user")
    _update(db, user, UserUpdate(active=False), principal)
    return Response(status_code=204)
