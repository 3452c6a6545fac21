"""The workspace itself: its name, its settings (retention) and the audit log of admin actions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from server.api.common import Name, Paging, UtcDatetime, not_found, user_label
from server.api.deps import DB, Admin, Reader
from server.store.tables import AuditEntry, User, Workspace
from server.workspace.audit import record
from server.workspace.retention import Days, Retention, retention_of

router = APIRouter(prefix="/api/v1", tags=["workspace"])


class WorkspaceOut(BaseModel):
    id: str
    slug: str
    name: str


class WorkspaceUpdate(BaseModel):
    name: Name


class SettingsOut(BaseModel):
    retention: Retention


class RetentionUpdate(BaseModel):
    """Only the fields sent change; null keeps that kind of artifact indefinitely."""

    audio_days: Days = None
    event_log_days: Days = None
    video_days: Days = None
    transcript_days: Days = None
    evaluation_days: Days = None


class SettingsUpdate(BaseModel):
    retention: RetentionUpdate | None = None


class AuditOut(BaseModel):
    id: str
    actor_id: str | None
    actor_name: str
    action: str
    target: str
    details: dict[str, Any]
    created_at: UtcDatetime


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    page: int
    page_size: int


def _workspace(db: DB, workspace_id: str) -> Workspace:
    workspace = db.get(Workspace, workspace_id)
    if workspace is None:
        not_found("workspace")
    return workspace


@router.get("/workspace", response_model=WorkspaceOut)
def get_workspace(principal: Reader, db: DB) -> WorkspaceOut:
    w = _workspace(db, principal.workspace_id)
    return WorkspaceOut(id=w.id, slug=w.slug, name=w.name)


@router.patch("/workspace", response_model=WorkspaceOut)
def rename_workspace(body: WorkspaceUpdate, principal: Admin, db: DB) -> WorkspaceOut:
    w = _workspace(db, principal.workspace_id)
    if body.name != w.name:
        record(db, w.id, principal.user_id, "workspace.rename", w.id, before=w.name, after=body.name)
        w.name = body.name
    return WorkspaceOut(id=w.id, slug=w.slug, name=w.name)


@router.get("/workspace/settings", response_model=SettingsOut)
def get_settings(principal: Admin, db: DB) -> SettingsOut:
    return SettingsOut(retention=retention_of(_workspace(db, principal.workspace_id)))


@router.patch("/workspace/settings", response_model=SettingsOut)
def update_settings(body: SettingsUpdate, principal: Admin, db: DB) -> SettingsOut:
    """Retention: days to keep each kind of artifact (null keeps it indefinitely); only the fields sent change.
    The change takes effect at the next purge."""
    w = _workspace(db, principal.workspace_id)
    before = retention_of(w)
    if body.retention is not None:
        changes = body.retention.model_dump(exclude_unset=True)
        after = Retention.model_validate({**before.model_dump(), **changes})
        if after != before:
            w.settings = {**(w.settings or {}), "retention": after.model_dump()}
            record(
                db,
                w.id,
                principal.user_id,
                "settings.retention_change",
                w.id,
                before=before.model_dump(),
                after=after.model_dump(),
            )
    return SettingsOut(retention=retention_of(w))


@router.get("/audit", response_model=AuditPage)
def audit_log(
    principal: Admin,
    db: DB,
    paging: Paging,
    action: Annotated[str | None, Query(max_length=64, description="e.g. user.role_change, scenario.delete")] = None,
    actor_id: Annotated[str | None, Query(max_length=32)] = None,
) -> AuditPage:
    conditions = [AuditEntry.workspace_id == principal.workspace_id]
    if action:
        conditions.append(AuditEntry.action == action)
    if actor_id:
        conditions.append(AuditEntry.actor_id == actor_id)
    total = db.scalar(select(func.count(AuditEntry.id)).where(*conditions)) or 0
    rows = db.scalars(
        select(AuditEntry)
        .where(*conditions)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id)
        .offset(paging.offset)
        .limit(paging.page_size)
    ).all()
    actors = {r.actor_id for r in rows if r.actor_id}
    names = {u.id: user_label(u.name, u.email) for u in db.scalars(select(User).where(User.id.in_(actors)))}
    items = [
        AuditOut(
            id=r.id,
            actor_id=r.actor_id,
            actor_name=names.get(r.actor_id or "", ""),
            action=r.action,
            target=r.target,
            details=r.details or {},
            created_at=r.created_at,
        )
        for r in rows
    ]
    return AuditPage(items=items, total=int(total), page=paging.page, page_size=paging.page_size)
