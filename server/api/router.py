"""The workspace REST API routers, included by the app under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter

workspace_router = APIRouter()
