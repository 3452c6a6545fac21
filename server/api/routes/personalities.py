"""Personality settings: each option with a one-line description of what it does to the persona."""

from __future__ import annotations

from fastapi import APIRouter

from server.api.deps import Reader
from server.api.schemas.personas import Personalities, PersonalityOption
from server.workspace.personality import DEFAULT_PERSONALITY, options_catalogue

router = APIRouter(prefix="/api/v1/personalities", tags=["personas"])


@router.get("", response_model=Personalities)
def list_personalities(principal: Reader) -> Personalities:
    catalogue = options_catalogue()
    return Personalities(
        settings={name: [PersonalityOption(**option) for option in options] for name, options in catalogue.items()},
        defaults=dict(DEFAULT_PERSONALITY),
    )
