"""The workspace REST API routers, included by the app under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from server.api.common import reject_nul
from server.api.routes import (
    attempts,
    contacts,
    documents,
    participants,
    personalities,
    personas,
    problems,
    report,
    scenarios,
    sessions,
    users,
    workspace,
)

workspace_router = APIRouter(dependencies=[Depends(reject_nul)])
for module in (
    personas,
    personalities,
    scenarios,
    documents,
    participants,
    sessions,
    attempts,
    contacts,
    problems,
    report,
    users,
    workspace,
):
    workspace_router.include_router(module.router)
