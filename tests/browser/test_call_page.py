"""A real browser call: headless Chromium with a WAV file as its microphone, against the real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from benchmarks.speech import espeak, silence, write_wav
from server.store.tables import Attempt
from tests.browser.pages import outside, record_requests, sign_in, wait_until
from tests.support.browser import chromium, screenshot_path
from tests.support.live import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.models]


async def test_browser_call_with_fake_microphone(live_server: LiveServer, tmp_path: Path) -> None:
    session_id = live_server.new_session(opening_line="Hello, this is Emma from Northwind.")
    wav = tmp_path / "learner.wav"
    # The persona opens (about 2.5 s), then the learner asks its question, then stays quiet.
    write_wav(
        str(wav), np.concatenate([silence(5.0), espeak("Tell me about your current packaging supplier."), silence(30)])
    )
    requests: list[str] = []
    async with chromium(fake_audio=wav) as browser:
        page = record_requests(await browser.new_page(viewport={"width": 1280, "height": 800}), requests)
        await sign_in(page, live_server, "lee@acme.com", f"/call/{session_id}")
        await page.screenshot(path=screenshot_path("call-briefing"))
        call_url = f"{live_server.base_url}/call/{session_id}?raw_audio=1"
        await page.goto(call_url)
        await page.get_by_role("button", name="Start the call").click()
        await wait_until(page, "window.sparring.state === 'in_session'", timeout=20)
        # The server transcribes the WAV's words; the persona answers.
        await wait_until(
            page,
            """window.sparring.transcript.some(t => t.speaker === 'learner' && /packaging/i.test(t.text))
                && window.sparring.transcript.filter(t => t.speaker === 'persona').length >= 2""",
            timeout=60,
        )
        await asyncio.sleep(1.0)
        await page.screenshot(path=screenshot_path("call-live"))
        level = await page.evaluate("window.sparring.maxAudioLevel")
        assert level > 0.01, f"the page received no persona audio (level {level})"
        assert await page.get_by_role("status").inner_text() == "In session"
        await page.get_by_role("button", name="End session").click()
        await page.get_by_role("button", name="Yes, end").click()
        await wait_until(page, "window.sparring.state === 'ended'", timeout=15)
        await page.screenshot(path=screenshot_path("call-ended"))
    # The server kept the call (it stores the outcome just after the page hears "ended"): the learner's
    # words transcribed, the attempt ended by the learner.
    for _ in range(100):
        with live_server.db.session() as db:
            attempt = db.scalars(select(Attempt).where(Attempt.session_id == session_id)).one()
            state, end_reason = attempt.state, attempt.end_reason
            learner = [t["text"] for t in attempt.transcript if t["speaker"] == "learner"]
        if state != "in_session":
            break
        await asyncio.sleep(0.1)
    assert state in ("ended", "evaluating", "completed") and end_reason == "learner_ended", state
    assert any("packaging" in t.lower() for t in learner), learner
    # Every request the page made went to this server.
    assert not outside(requests, live_server.base_url), outside(requests, live_server.base_url)


async def test_blocked_microphone_shows_a_clear_message(live_server: LiveServer) -> None:
    session_id = live_server.new_session()
    async with chromium() as browser:
        context = await browser.new_context()
        page = await context.new_page()
        await sign_in(page, live_server, "lee@acme.com", f"/call/{session_id}")
        # Deny the microphone the way a user would: the permission prompt answered "Block".
        await page.add_init_script(
            "navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('denied', 'NotAllowedError'))"
        )
        await page.reload()
        await page.get_by_role("button", name="Start the call").click()
        alert = page.locator("#mic-error")
        await alert.wait_for(state="visible", timeout=10_000)
        assert "microphone is blocked" in (await alert.inner_text())
