"""The workspace report, for admins and members."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from server.api.access import visible_scenario
from server.api.deps import DB, Member
from server.workspace.report import Report, build_report

router = APIRouter(prefix="/api/v1/report", tags=["report"])


@router.get("", response_model=Report)
def report(
    principal: Member,
    db: DB,
    weeks: Annotated[int, Query(ge=1, le=104, description="how many weeks back, this one included")] = 12,
    scenario_id: Annotated[str | None, Query(max_length=32)] = None,
) -> Report:
    if scenario_id:
        visible_scenario(db, scenario_id, principal)
    return build_report(db, principal.workspace_id, weeks=weeks, scenario_id=scenario_id)
