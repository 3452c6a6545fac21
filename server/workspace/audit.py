"""The workspace audit log: who changed roles, deleted records or changed settings, and when."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from server.store.tables import AuditEntry

log = logging.getLogger(__name__)


def record(db: Session, workspace_id: str, actor_id: str | None, action: str, target: str = "", **details: Any) -> None:
    """Add an audit entry in the caller's unit of work (it commits or rolls back with the change)."""
    db.add(AuditEntry(workspace_id=workspace_id, actor_id=actor_id, action=action, target=target, details=details))
    log.info("audit", extra={"workspace": workspace_id, "actor": actor_id, "action": action, "target": target})
