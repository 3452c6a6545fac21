"""The soak in a shortened form for CI: several text-mode sessions back to back for about a minute
against a separate server process; no errors, every attempt evaluated, memory not running away."""

from __future__ import annotations

import pytest

from benchmarks.soak import soak

pytestmark = pytest.mark.models


async def test_short_soak() -> None:
    results = await soak(sessions=3, minutes=1.0, think_s=1.0, drain_limit_s=420, workers=1)
    assert results["errors"] == []
    assert results["calls"] >= 3
    states = results["attempt_states"]
    assert states.get("completed", 0) == results["calls"], states  # every attempt evaluated, once
    assert results["memory_mb"]["growth"] < 0.25  # the full 10-minute soak (README) holds it within 10%
