"""The web app in headless Chromium against the real server and models: an admin builds a scenario in six steps
and invites a learner; the learner runs the live call with a fake microphone, ends it, sees "Generating
results..." and then the evaluation and the transcript; plus the other pages, roles and refusals.

The test that waits for the grader comes last, so the cheaper tests run while the attempt is graded. Every page
records each request it makes, and none may leave the server. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import wave
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, ViewportSize, expect
from sqlalchemy import delete, select

from benchmarks.speech import espeak, silence, write_wav
from grader.analytics import compute_analytics
from grader.records import (
    CriterionResult,
    Debrief,
    Evaluation,
    EvaluationMeta,
    GoalResult,
    KeyMoment,
    Point,
    Quote,
    Suggestion,
    TranscriptTurn,
)
from server.store.tables import Attempt, GradingJob, PracticeSession
from server.store.tables import Evaluation as EvaluationRow
from server.workspace.attempts import ERROR_MESSAGE
from tests.browser.pages import outside, record_requests, sign_in, wait_until
from tests.support.browser import chromium, screenshot_path
from tests.support.live import PASSWORD, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.models]

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 375, "height": 760}
SCENARIO = "Northwind discovery call (browser)"
EMMA = "Emma Clarke, Procurement Director (Northwind Foods)"
PAYAL = "Payal Mehta, Talent Acquisition Lead (Arcadia Health)"
PRICING = "Greenpack pricing: 0.12 per carton; regional warehouses hold two weeks of stock for each plant."
# Shared by the first test (the live call) and the last one (its evaluation), so grading overlaps the others.
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def learner_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The learner's microphone: quiet while the persona opens, one question, then quiet."""
    path = tmp_path_factory.mktemp("mic") / "learner.wav"
    audio = np.concatenate([silence(5.0), espeak("Tell me about your current packaging supplier."), silence(40)])
    write_wav(str(path), audio)
    return path


@pytest_asyncio.fixture(scope="module")
async def browser(learner_wav: Path) -> AsyncIterator[Browser]:
    async with chromium(fake_audio=learner_wav) as b:
        yield b


@pytest_asyncio.fixture(scope="module")
async def grading(live_server: LiveServer) -> AsyncIterator[None]:
    """A grading worker while this module runs (the live test server starts none), so the live call's attempt is
    graded automatically while the cheaper tests run. Jobs queued before it starts (the chat test's) are dropped,
    as the server's own `grading_worker` fixture does, so that only the live call is graded."""
    with live_server.db.session() as db:
        db.execute(delete(GradingJob).where(GradingJob.status.in_(("pending", "running"))))
    stop = asyncio.Event()
    task = asyncio.ensure_future(live_server.app.state.grading.run(stop, "browser-tests"))
    yield
    stop.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(task, 60)


@pytest.fixture
def requests_seen(live_server: LiveServer) -> Any:
    """Every URL the test's pages requested; none may point outside the server."""
    urls: list[str] = []
    yield urls
    assert urls, "no request was recorded"
    assert not outside(urls, live_server.base_url), outside(urls, live_server.base_url)


async def new_page(browser: Browser, requests: list[str], viewport: ViewportSize = DESKTOP) -> Page:
    """A page in a fresh context (its own cookies), recording its requests."""
    context = await browser.new_context(viewport=viewport)
    return record_requests(await context.new_page(), requests)


async def shot(page: Page, name: str, *, full_page: bool = False) -> None:
    await page.wait_for_timeout(150)  # let a redraw settle
    await page.screenshot(path=screenshot_path(name), full_page=full_page)


def api(live: LiveServer, who: str = "admin") -> httpx.AsyncClient:
    headers = live.admin_headers if who == "admin" else live.learner_headers
    return httpx.AsyncClient(base_url=live.base_url, headers=headers, timeout=30)


# ---------------------------------------------------------------- a session of one's own, in chat


async def test_new_session_in_four_steps_then_a_chat_call(
    live_server: LiveServer, browser: Browser, requests_seen: list[str]
) -> None:
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "lee@acme.com")
    # Keyboard: the page focuses its heading; Tab reaches "New session", Enter opens it, focus moves inside.
    await expect(page.get_by_role("table", name="Practice sessions")).to_be_visible()
    await expect(page.get_by_role("heading", level=1)).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="New session")).to_be_focused()
    await page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="New session")
    await expect(dialog.get_by_label("Session name")).to_be_focused()
    await dialog.get_by_label("Session name").fill("Hybrid warm-up")
    await dialog.get_by_label("Scenario type").select_option("customer_success")
    await dialog.get_by_label("Scenario tuning").fill("The customer is unsure about renewing.")
    await dialog.get_by_label("Goals (one per line)").fill("Find out why they hesitate")
    await dialog.get_by_label("Practice by").select_option("hybrid")
    await shot(page, "new-session-step-1")
    next_step = dialog.get_by_role("button", name="Next", exact=True)
    await next_step.click()
    await dialog.get_by_label("Persona", exact=True).select_option(label=EMMA)
    await dialog.get_by_label("Profile text (optional)").fill("Runs procurement for twelve plants.")
    await shot(page, "new-session-step-2")
    await next_step.click()
    await dialog.get_by_label("Terse").check()
    await shot(page, "new-session-step-3")
    await next_step.click()
    await expect(dialog.get_by_label("Evaluation template")).to_have_value("customer_success_renewal")
    await shot(page, "new-session-step-4")
    await dialog.get_by_role("button", name="Start").click()
    await page.wait_for_url(re.compile(r".*/call/[0-9a-f]+$"))
    # Hybrid: the learner picks chat for this attempt.
    await page.get_by_label("chat").check()
    await page.get_by_role("button", name="Start the call").click()
    await wait_until(page, "window.sparring.state === 'in_session'", timeout=20)
    persona_turns = await page.evaluate("window.sparring.transcript.filter(t => t.speaker === 'persona').length")
    await page.get_by_label("Your message").fill("Hi Emma, what would make the renewal an easy yes for you?")
    await page.get_by_label("Your message").press("Enter")
    await wait_until(
        page,
        f"""window.sparring.transcript.some(t => t.speaker === 'learner' && /renewal/i.test(t.text))
            && window.sparring.transcript.filter(t => t.speaker === 'persona').length > {persona_turns}""",
        timeout=60,
    )
    await shot(page, "live-call-chat")
    await page.get_by_role("button", name="Pause").click()
    await expect(page.get_by_role("status")).to_have_text("Paused")
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("status")).to_have_text("In session")
    await page.get_by_role("button", name="End session").click()
    await page.get_by_role("button", name="Yes, end").click()
    await wait_until(page, "window.sparring.state === 'ended'", timeout=20)
    attempt = await live_server.wait_attempt(await page.evaluate("window.sparring.attemptId"))
    assert attempt.mode == "text" and attempt.end_reason == "learner_ended"
    await page.context.close()


# ---------------------------------------------------------------- the whole journey, up to grading


async def test_scenario_in_six_steps_invite_and_live_call(
    live_server: LiveServer, browser: Browser, requests_seen: list[str], grading: None
) -> None:
    base = live_server.base_url
    admin = await new_page(browser, requests_seen)
    await sign_in(admin, live_server, "ada@acme.com")
    await admin.get_by_role("navigation", name="Main").get_by_role("link", name="Roleplay Scenarios").click()
    await admin.get_by_role("link", name="New scenario").click()
    # 1. Details
    await admin.get_by_label("Scenario name").fill(SCENARIO)
    await admin.get_by_label("Scenario type").select_option("sales")
    await admin.get_by_label("Time limit").select_option("5")
    await admin.get_by_label("Scenario tuning").fill("Greenpack sells packaging; the prospect buys for twelve plants.")
    await admin.get_by_label("Goals (one per line)").fill("Learn the current supplier situation\nAgree a next step")
    await admin.get_by_text("Opening line, objections and exit conditions (optional)").click()
    await admin.get_by_label("Opening line").fill("Hello, this is Emma from Northwind.")
    await admin.get_by_label("Tags").fill("discovery")
    await admin.get_by_label("Tags").press("Enter")
    await admin.get_by_label("Tags").fill("browser")
    await admin.get_by_label("Tags").press("Enter")
    await expect(admin.get_by_role("button", name="Remove tag discovery")).to_be_visible()
    await shot(admin, "scenario-step-1-details", full_page=True)
    next_step = admin.get_by_role("button", name="Next", exact=True)
    await next_step.click()
    # 2. Persona mapping: refused until a persona is chosen
    await next_step.click()
    await expect(admin.get_by_text("Choose a persona.")).to_be_visible()
    await admin.get_by_label("Ecosystem").select_option("Manufacturing")
    await admin.get_by_label("Persona", exact=True).select_option(label=EMMA)
    await expect(admin.locator(".persona-card")).to_contain_text("Procurement Director")
    await shot(admin, "scenario-step-2-persona")
    await next_step.click()
    # 3. Personality: each option with its description
    await expect(admin.get_by_text("Doubts claims until shown evidence.")).to_be_visible()
    await admin.get_by_label("Friendly").check()
    await shot(admin, "scenario-step-3-personality")
    await next_step.click()
    # 4. Evaluation instructions
    await admin.get_by_label("Evaluation template").select_option("sales_discovery")
    await admin.get_by_label("Evaluation instructions").fill("Reward open questions about the supplier.")
    await shot(admin, "scenario-step-4-evaluation")
    await next_step.click()
    # 5. Instruction/frequency
    await admin.get_by_label("Participant instructions").fill("Find out what is not working with the supplier.")
    await admin.get_by_label("Expected sessions per week").fill("2")
    await admin.get_by_label("Add documents").set_input_files(
        {"name": "greenpack-pricing.txt", "mimeType": "text/plain", "buffer": PRICING.encode()}
    )
    await expect(admin.get_by_text("greenpack-pricing.txt (to upload)")).to_be_visible()
    await shot(admin, "scenario-step-5-instructions")
    await next_step.click()
    # 6. Participants: invite the learner
    await admin.get_by_label("lee@acme.com").check()
    await shot(admin, "scenario-step-6-participants")
    await admin.get_by_role("button", name="Create scenario").click()
    await admin.wait_for_url(re.compile(r".*/app/scenarios/[0-9a-f]+$"))
    await expect(admin.get_by_text("This scenario is ready: people can practise it.")).to_be_visible()
    await shot(admin, "scenario-detail", full_page=True)
    scenario_id = admin.url.rsplit("/", 1)[-1]
    await admin.get_by_role("tab", name="Participants").click()
    participants = admin.get_by_role("table", name="Participants")
    await expect(participants).to_contain_text("lee@acme.com")
    await shot(admin, "scenario-participants")
    await admin.get_by_role("tab", name="Participation history").click()
    await expect(admin.get_by_role("table", name="Sessions of lee")).to_be_visible()
    await admin.context.close()
    async with api(live_server) as http:
        scenario = (await http.get(f"/api/v1/scenarios/{scenario_id}")).json()
    assert scenario["valid"] and scenario["tags"] == ["discovery", "browser"]
    assert scenario["personality"]["trait"] == "friendly" and scenario["time_limit_minutes"] == 5
    assert scenario["participant_count"] == 1 and scenario["sessions_per_week"] == 2
    assert [d["name"] for d in scenario["documents"]] == ["greenpack-pricing.txt"]

    # The learner signs in, finds the assignment in the training table and opens it.
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "lee@acme.com")
    await page.get_by_label("Kind").select_option("assignment")
    row = page.get_by_role("row").filter(has_text=SCENARIO)
    await expect(row).to_contain_text("To do")
    await row.get_by_role("link", name=SCENARIO).click()
    await page.wait_for_url(re.compile(r".*/app/sessions/[0-9a-f]+$"))
    session_id = page.url.rsplit("/", 1)[-1]
    await expect(page.get_by_text("Learn the current supplier situation")).to_be_visible()
    await shot(page, "session-history-new")
    await page.get_by_role("button", name="Start", exact=True).click()
    await page.wait_for_url(f"{base}/call/{session_id}")
    # Fake-WAV microphones need the browser's voice processing off (real calls keep it on).
    await page.goto(f"{base}/call/{session_id}?raw_audio=1")
    goals = page.get_by_role("complementary")
    await expect(goals).to_contain_text("Agree a next step")
    await expect(page.get_by_text("You are talking to Emma Clarke")).to_be_visible()
    await goals.get_by_text("greenpack-pricing.txt").click()  # open-book: the document's text beside the call
    await expect(goals).to_contain_text("0.12 per carton")
    await shot(page, "live-call-briefing")
    await page.get_by_role("button", name="Start the call").click()
    await wait_until(page, "window.sparring.state === 'in_session'", timeout=20)
    await expect(page.get_by_role("status")).to_have_text("In session")
    await wait_until(
        page,
        """window.sparring.transcript.some(t => t.speaker === 'learner' && /packaging/i.test(t.text))
            && window.sparring.transcript.filter(t => t.speaker === 'persona').length >= 2""",
        timeout=60,
    )
    await expect(goals).to_contain_text("Learn the current supplier situation")  # still beside the call
    await expect(goals).to_contain_text("0.12 per carton")
    await page.wait_for_timeout(800)
    await shot(page, "live-call")
    assert await page.evaluate("window.sparring.maxAudioLevel") > 0.01, "the page received no persona audio"
    assert await page.locator("#elapsed").inner_text() != "0:00"
    await page.get_by_role("button", name="End session").click()
    await expect(page.get_by_role("heading", name="End session?")).to_be_visible()
    await page.get_by_role("button", name="Yes, end").click()
    await wait_until(page, "window.sparring.state === 'ended'", timeout=20)
    attempt_id = await page.evaluate("window.sparring.attemptId")
    STATE["attempt_id"] = attempt_id
    # Straight away the review says the results are being generated (the grader is working on them).
    review = record_requests(await page.context.new_page(), requests_seen)
    href = await page.get_by_role("link", name="See the evaluation").get_attribute("href")
    assert href == f"/app/attempts/{attempt_id}"
    await review.goto(f"{base}{href}")
    await expect(review.get_by_text("Generating results...")).to_be_visible(timeout=10_000)
    await expect(review.get_by_role("status").filter(has_text="Generating results...")).to_be_visible()
    await shot(review, "evaluation-generating")
    await review.close()
    # After the call: flag a problem for the scenario's creator.
    await page.get_by_role("button", name="Report a problem").click()
    await page.get_by_label("What went wrong?").fill("The persona repeated herself.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("button", name="Problem reported")).to_be_disabled()
    await shot(page, "live-call-ended")
    await page.get_by_role("link", name="See the evaluation").click()
    await page.wait_for_url(f"{base}/app/attempts/{attempt_id}")
    await expect(page.get_by_role("tab", name="Evaluation")).to_have_attribute("aria-selected", "true")
    await page.context.close()

    with live_server.db.session() as db:
        attempt = db.get(Attempt, attempt_id)
        assert attempt is not None and attempt.end_reason == "learner_ended"
        learner = [t["text"] for t in attempt.transcript if t["speaker"] == "learner"]
    assert any("packaging" in t.lower() for t in learner), learner
    async with api(live_server) as http:
        problems = (await http.get(f"/api/v1/scenarios/{scenario_id}/problems")).json()
    assert [p["reason"] for p in problems] == ["The persona repeated herself."]


# ---------------------------------------------------------------- pages, roles and refusals


async def test_every_page_renders_at_desktop_and_phone_width(
    live_server: LiveServer, browser: Browser, requests_seen: list[str]
) -> None:
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "ada@acme.com")
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Roleplay Training", "Roleplay Scenarios", "Contacts", "Leaderboard", "Report", "Settings"):
        await expect(nav.get_by_role("link", name=label)).to_be_visible()
    pages = {
        "training": ("Roleplay Training", "/app/training"),
        "scenarios": ("Roleplay Scenarios", "/app/scenarios"),
        "contacts": ("Contacts", "/app/contacts"),
        "leaderboard": ("Leaderboard", "/app/leaderboard"),
        "report": ("Report", "/app/report"),
        "settings": ("Settings", "/app/settings"),
    }
    for name, (title, path) in pages.items():
        await nav.get_by_role("link", name=title).click()
        await page.wait_for_url(f"{live_server.base_url}{path}*")
        await expect(page.get_by_role("heading", level=1)).to_have_text(title)
        await expect(nav.get_by_role("link", name=title)).to_have_attribute("aria-current", "page")
        await expect(page.get_by_text("Loading...")).to_have_count(0)
        if name == "report":
            await expect(page.get_by_role("heading", name="Attempts per week")).to_be_visible()
            assert await page.locator("main svg.chart").count() >= 2  # attempts per week, completion
        await shot(page, f"page-{name}", full_page=True)
    await page.get_by_role("link", name="Settings").click()
    await expect(page.get_by_role("table", name="Users")).to_contain_text("lee@acme.com")
    await expect(page.get_by_role("heading", name="Live calls and models (read-only)")).to_be_visible()
    await expect(page.get_by_text("Profile:")).to_be_visible()
    await page.context.close()

    # A phone: the navigation folds behind "Menu" and nothing is wider than the screen.
    phone = await new_page(browser, requests_seen, PHONE)
    await sign_in(phone, live_server, "lee@acme.com")
    await expect(phone.get_by_role("link", name="Contacts")).to_be_hidden()
    await phone.get_by_role("button", name="Menu").click()
    await expect(phone.get_by_role("link", name="Contacts")).to_be_visible()
    await shot(phone, "phone-menu")
    for name, (_, path) in pages.items():
        if name == "settings":
            continue
        await phone.goto(f"{live_server.base_url}{path}")
        await expect(phone.get_by_text("Loading...")).to_have_count(0)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width} px wide on a {PHONE['width']} px phone"
        await shot(phone, f"phone-{name}", full_page=True)
    await phone.context.close()


async def test_read_only_user_has_no_new_session(
    live_server: LiveServer, browser: Browser, requests_seen: list[str]
) -> None:
    async with api(live_server) as http:
        response = await http.post(
            "/api/v1/users", json={"email": "rory@acme.com", "name": "Rory", "role": "read_only", "password": PASSWORD}
        )
        assert response.status_code in (201, 409), response.text
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "rory@acme.com")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Roleplay Training")
    await expect(page.get_by_text("Loading...")).to_have_count(0)
    await expect(page.get_by_role("button", name="New session")).to_have_count(0)
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Settings")).to_have_count(0)
    await expect(nav.get_by_role("link", name="Report")).to_have_count(0)
    await shot(page, "training-read-only")
    await nav.get_by_role("link", name="Roleplay Scenarios").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Roleplay Scenarios")
    await expect(page.get_by_role("link", name="New scenario")).to_have_count(0)
    await page.context.close()


async def test_invalid_scenario_test_session_says_what_is_missing(
    live_server: LiveServer, browser: Browser, requests_seen: list[str]
) -> None:
    async with api(live_server) as http:
        response = await http.post("/api/v1/scenarios", json={"name": "Half-built negotiation", "type": "custom"})
        assert response.status_code == 201, response.text
        scenario_id = response.json()["id"]
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "ada@acme.com", f"/app/scenarios/{scenario_id}")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Half-built negotiation")
    await page.get_by_role("button", name="Test session").click()
    alert = page.get_by_role("alert").filter(has_text="Scenario is not valid for test session")
    await expect(alert).to_be_visible()
    await expect(alert).to_contain_text("choose a persona")
    await expect(alert).to_contain_text("evaluation")
    assert page.url.endswith(f"/app/scenarios/{scenario_id}")
    await shot(page, "scenario-test-session-refused")
    # The same refusal from the table's row menu.
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Roleplay Scenarios").click()
    await page.get_by_label("Search").fill("Half-built")
    await expect(page.get_by_role("table", name="Scenarios").get_by_role("row")).to_have_count(2)  # filtered
    row = page.get_by_role("row").filter(has_text="Half-built negotiation")
    await expect(row).to_contain_text("Needs setup")
    await row.locator("summary").click()
    await row.get_by_role("button", name="Test session").click()
    await expect(page.get_by_role("alert").filter(has_text="Scenario is not valid for test session")).to_be_visible()
    await page.context.close()


async def test_edit_a_scenario_then_participants_duplicate_delete_and_test_session(
    live_server: LiveServer, browser: Browser, requests_seen: list[str]
) -> None:
    async with api(live_server) as http:
        response = await http.post("/api/v1/scenarios", json={"name": "Salary talk", "type": "custom"})
        scenario_id = response.json()["id"]
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "ada@acme.com", f"/app/scenarios/{scenario_id}")
    await page.get_by_role("link", name="Edit", exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit Salary talk")
    await expect(page.get_by_label("Scenario name")).to_have_value("Salary talk")
    await page.get_by_label("Goals (one per line)").fill("Agree the salary band")
    next_step = page.get_by_role("button", name="Next", exact=True)
    await next_step.click()
    await page.get_by_label("Persona", exact=True).select_option(label=PAYAL)
    for _ in range(2):
        await next_step.click()
    await page.get_by_label("Evaluation template").select_option("salary_negotiation")
    for _ in range(2):
        await next_step.click()
    await page.get_by_role("button", name="Save changes").click()
    await page.wait_for_url(f"{live_server.base_url}/app/scenarios/{scenario_id}")
    await expect(page.get_by_text("This scenario is ready: people can practise it.")).to_be_visible()
    # Participants: invite, then remove with a confirm.
    await page.get_by_role("tab", name="Participants").click()
    await page.get_by_label("ada@acme.com").check()
    await page.get_by_role("button", name="Invite", exact=True).click()
    participants = page.get_by_role("table", name="Participants")
    await expect(participants).to_contain_text("ada@acme.com")
    await participants.get_by_role("button", name="Remove ada").click()
    confirm = page.get_by_role("dialog", name="Remove participant?")
    await expect(confirm).to_contain_text("history is kept")
    await confirm.get_by_role("button", name="Yes, remove").click()
    await expect(participants).to_contain_text("Nobody is invited yet.")
    # Duplicate (opens the copy's editor), then delete the copy (its creator may, after a confirm).
    await page.get_by_role("button", name="Duplicate").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Edit Copy of Salary talk")
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Copy of Salary talk")
    await page.get_by_role("button", name="Delete", exact=True).click()
    await page.get_by_role("dialog", name="Delete scenario?").get_by_role("button", name="Yes, delete").click()
    await page.wait_for_url(re.compile(r".*/app/scenarios(\?.*)?$"))
    await expect(page.get_by_role("status").filter(has_text='Deleted "Copy of Salary talk"')).to_be_visible()
    # The valid scenario's test session starts a call page for its author.
    await page.goto(f"{live_server.base_url}/app/scenarios/{scenario_id}")
    await page.get_by_role("button", name="Test session").click()
    await page.wait_for_url(re.compile(r".*/call/[0-9a-f]+$"))
    await expect(page.locator("#title")).to_have_text("Test session")
    await expect(page.get_by_text("You are talking to Payal Mehta")).to_be_visible()
    await page.context.close()


async def test_contacts_csv_import_and_create_roleplay(
    live_server: LiveServer, browser: Browser, requests_seen: list[str], tmp_path: Path
) -> None:
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "name,title,company,profile_url,notes\n"
        "Priya Shah,VP Operations,Northwind Foods,,Cares about uptime\n"
        "Tom Berg,CFO,Fjord Ltd,,\n"
        ",no name,Nowhere,,\n"
    )
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "lee@acme.com")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Contacts").click()
    await page.get_by_role("button", name="Import CSV").click()
    dialog = page.get_by_role("dialog", name="Import contacts from CSV")
    await dialog.get_by_label("CSV file").set_input_files(csv)
    await dialog.get_by_role("button", name="Import").click()
    await expect(dialog.get_by_role("status")).to_have_text("Imported 2 contacts.")
    await expect(dialog.get_by_role("alert")).to_contain_text("line 4")
    await dialog.get_by_role("button", name="Close").click()
    table = page.get_by_role("table", name="Contacts")
    await expect(table).to_contain_text("Tom Berg")
    await shot(page, "contacts")
    await table.get_by_role("link", name="Priya Shah").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Priya Shah")
    await expect(page.get_by_role("tab", name="Roleplay")).to_have_attribute("aria-selected", "true")
    await page.get_by_role("button", name="Create Roleplay").click()
    dialog = page.get_by_role("dialog", name="Create Roleplay with Priya Shah")
    await expect(dialog.get_by_label("Session name")).to_have_value("Roleplay with Priya Shah")
    await expect(dialog.locator(".steps li")).to_have_count(3)  # no persona mapping: the contact is the persona
    await dialog.get_by_label("Goals (one per line)").fill("Agree a pilot at one plant")
    await dialog.get_by_role("button", name="Next", exact=True).click()
    await expect(dialog.get_by_text("The persona is Priya Shah")).to_be_visible()
    await dialog.get_by_role("button", name="Next", exact=True).click()
    await dialog.get_by_role("button", name="Start").click()
    await page.wait_for_url(re.compile(r".*/call/[0-9a-f]+$"))
    await expect(page.get_by_text("You are talking to Priya Shah")).to_be_visible()
    await page.go_back()
    await expect(page.get_by_role("table", name="Roleplays")).to_contain_text("Roleplay with Priya Shah")
    await shot(page, "contact-roleplays")
    await page.context.close()


async def test_session_history_restart_after_error_and_delete(
    live_server: LiveServer, browser: Browser, requests_seen: list[str]
) -> None:
    session_id = live_server.new_session(opening_line="Hello.", created_by=live_server.admin_id)
    with live_server.db.session() as db:
        now = datetime.now(UTC)
        db.add(Attempt(
            workspace_id=live_server.workspace_id, session_id=session_id, number=1, state="error", mode="voice",
            started_at=now, ended_at=now, error=ERROR_MESSAGE, end_reason="error",
        ))  # fmt: skip
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "lee@acme.com", f"/app/sessions/{session_id}")
    await expect(page.get_by_role("alert")).to_contain_text("There was an issue with the roleplay.")
    attempts = page.get_by_role("table", name="Attempts")
    await expect(attempts).to_contain_text("Error")
    await shot(page, "session-history-error")
    await page.get_by_role("alert").get_by_role("button", name="Restart roleplay").click()
    await page.wait_for_url(f"{live_server.base_url}/call/{session_id}")
    with live_server.db.session() as db:
        numbers = sorted(a.number for a in db.scalars(select(Attempt).where(Attempt.session_id == session_id)))
    assert numbers == [1, 2]
    await page.goto(f"{live_server.base_url}/app/sessions/{session_id}")
    await page.get_by_role("button", name="Delete", exact=True).click()
    confirm = page.get_by_role("dialog", name="Delete chat?")
    await expect(confirm).to_be_visible()
    await shot(page, "session-delete-confirm")
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_have_count(0)
    await page.get_by_role("button", name="Delete", exact=True).click()
    await page.get_by_role("dialog", name="Delete chat?").get_by_role("button", name="Yes, delete").click()
    await page.wait_for_url(f"{live_server.base_url}/app/training")
    await expect(page.get_by_role("status").filter(has_text="Deleted")).to_be_visible()
    with live_server.db.session() as db:
        assert db.get(PracticeSession, session_id) is None
    await page.context.close()


def _turns() -> list[TranscriptTurn]:
    lines = [
        ("persona", "Emma Clarke speaking.", False),
        ("learner", "Hi Emma, thanks for your time. How do you handle packaging across your plants today?", False),
        ("persona", "We buy almost everything from one supplier, and deliveries have been", True),
        ("learner", "Sorry, what does a late delivery cost you when it happens?", False),
        ("persona", "A stopped line costs us about twelve thousand pounds an hour.", False),
        ("learner", "Could we book a call with your operations director next Tuesday?", False),
    ]
    turns, start = [], 0.5
    for number, (speaker, text, interrupted) in enumerate(lines, start=1):
        end = start + max(1.5, len(text.split()) / 2.5)
        turns.append(TranscriptTurn(number, speaker, text, round(start, 2), round(end, 2), interrupted))  # type: ignore[arg-type]
        start = end + 0.7
    return turns


def _evaluation(turns: list[TranscriptTurn]) -> dict[str, Any]:
    discovery = [
        Quote(2, "How do you handle packaging across your plants today?"),
        Quote(4, "what does a late delivery cost you"),
    ]
    criteria = [
        CriterionResult("needs_discovery", "Needs discovery", "scale", 3.0, 4.0, "Asked about the cost.", discovery),
        CriterionResult(
            "active_listening", "Active listening", "scale", 2.0, 2.0, "Cut the prospect off once.",
            [Quote(4, "Sorry, what does a late delivery cost you when it happens?")], ["interrupted"],
        ),
        CriterionResult(
            "next_step", "Concrete next step", "check", 2.0, 1.0, "Proposed a meeting.",
            [Quote(6, "Could we book a call with your operations director next Tuesday?")],
        ),
    ]  # fmt: skip
    goals = [
        GoalResult("learn_supplier", "Learn the current supplier situation", True, [discovery[0]]),
        GoalResult("next_step", "Agree a next step", False),
    ]
    debrief = Debrief(
        what_worked=[Point("Asked about the cost of the problem", "needs_discovery", 4, discovery[1].text)],
        what_was_missing=[Point("Let the prospect finish before asking", "active_listening", 4)],
        key_moments=[KeyMoment(5, "The prospect put a number on the pain")],
        suggestions=[
            Suggestion(
                "Summarise before moving on", 4, "Sorry, what does a late delivery cost you when it happens?",
                "So late deliveries stop your lines; what does an hour of stoppage cost?",
            )
        ],
    )  # fmt: skip
    meta = EvaluationMeta(mode="hybrid", model="test", rubric="sales_discovery", rubric_version=1, n_ctx=2048)
    return Evaluation(62.5, criteria, goals, debrief, compute_analytics(turns), meta).to_dict()


def _stereo_wav(path: Path, turns: list[TranscriptTurn], rate: int = 16000) -> None:
    """Learner on the left, persona on the right, a tone while each turn speaks."""
    total = int((turns[-1].end + 1) * rate)
    audio = np.zeros((total, 2), dtype=np.int16)
    for t in turns:
        a, b = int(t.start * rate), int(t.end * rate)
        tone = 3000 * np.sin(2 * np.pi * (220 if t.speaker == "learner" else 330) * np.arange(b - a) / rate)
        audio[a:b, 0 if t.speaker == "learner" else 1] = tone.astype(np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(audio.tobytes())


async def test_review_evidence_jumps_to_its_turn_and_audio_follows_the_transcript(
    live_server: LiveServer, browser: Browser, requests_seen: list[str]
) -> None:
    """A graded attempt with a known evaluation and recording (the real grader's output varies)."""
    turns = _turns()
    session_id = live_server.new_session(created_by=live_server.admin_id)
    recording = live_server.settings.data_dir / f"review-{session_id}.wav"
    _stereo_wav(recording, turns)
    with live_server.db.session() as db:
        now = datetime.now(UTC)
        attempt = Attempt(
            workspace_id=live_server.workspace_id, session_id=session_id, number=1, state="completed", mode="voice",
            started_at=now - timedelta(minutes=3), ended_at=now, end_reason="learner_ended", interactions=3,
            transcript=[asdict(t) for t in turns], recording_path=str(recording),
        )  # fmt: skip
        db.add(attempt)
        db.flush()
        db.add(EvaluationRow(attempt_id=attempt.id, workspace_id=live_server.workspace_id, overall=62.5,
                             result=_evaluation(turns), coach={}))  # fmt: skip
        attempt_id = attempt.id
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "lee@acme.com", f"/app/attempts/{attempt_id}")
    await expect(page.get_by_role("tab", name="Evaluation")).to_have_attribute("aria-selected", "true")
    chart = page.get_by_role("img", name=re.compile("Scores by criterion"))
    await expect(chart).to_be_visible()
    assert await chart.locator("rect").count() == 3
    await expect(page.locator(".stat").filter(has_text="Goals met")).to_contain_text("1 of 2")
    await expect(page.locator(".goal.met")).to_have_count(1)
    await expect(page.get_by_text("So late deliveries stop your lines")).to_be_visible()  # the better phrasing
    await expect(page.get_by_role("heading", name="Coach review")).to_be_visible()
    await expect(page.get_by_role("button", name="Mark reviewed")).to_have_count(0)  # the learner is no coach
    await shot(page, "review-evaluation-seeded", full_page=True)
    # An evidence quote jumps to its turn in the transcript.
    await page.get_by_role("button", name=re.compile(r"^Turn 6: Could we book a call")).first.click()
    await expect(page.get_by_role("tab", name="Transcript")).to_have_attribute("aria-selected", "true")
    turn6 = page.locator("#turn-6")
    await expect(turn6).to_have_class(re.compile("highlight"))
    await expect(page.locator("#turn-3")).to_contain_text("interrupted")
    await expect(page.locator(".turn.numbered")).to_have_count(6)
    # The recording plays in step with the transcript: the turn being heard is highlighted.
    audio = page.locator("audio")
    await expect(audio).to_have_count(1, timeout=10_000)
    await wait_until(page, "document.querySelector('audio').readyState >= 1", timeout=10)
    middle = (turns[1].start + turns[1].end) / 2
    await page.evaluate(f"document.querySelector('audio').currentTime = {middle}")
    await expect(page.locator("#turn-2")).to_have_class(re.compile("current"), timeout=5_000)
    await page.locator("#turn-5").get_by_role("button", name="Play from turn 5").click()
    await expect(page.locator("#turn-5")).to_have_class(re.compile("current"), timeout=5_000)
    await shot(page, "review-transcript-seeded", full_page=True)
    await page.context.close()


# ---------------------------------------------------------------- the live call's evaluation (graded meanwhile)


async def test_live_call_evaluation_and_transcript_then_coach_review(
    live_server: LiveServer, browser: Browser, requests_seen: list[str], grading: None
) -> None:
    if not STATE:
        pytest.skip("the live call test did not get as far as its evaluation")
    attempt_id = STATE["attempt_id"]
    page = await new_page(browser, requests_seen)
    await sign_in(page, live_server, "lee@acme.com", f"/app/attempts/{attempt_id}")
    # The ended attempt is graded automatically; the open page polls and shows the result by itself.
    graded = await live_server.wait_attempt(attempt_id, states=("completed", "error"), limit_s=240)
    assert graded.state == "completed", f"grading ended in {graded.state}: {graded.error}"
    await expect(page.get_by_role("heading", name="Scores by criterion")).to_be_visible(timeout=15_000)
    await expect(page.get_by_text("Generating results...")).to_have_count(0)
    for heading in ("Goals", "Criteria", "Debrief", "Conversation analytics", "Coach review"):
        await expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    await expect(page.get_by_role("img", name=re.compile("Overall score"))).to_be_visible()
    await shot(page, "evaluation")
    await shot(page, "evaluation-full", full_page=True)
    await page.get_by_role("tab", name="Transcript").click()
    transcript = page.get_by_role("list", name="Transcript")
    await expect(transcript).to_contain_text("packaging")
    await expect(transcript.locator(".turn .no").first).to_have_text("1.")
    await expect(page.locator("audio")).to_have_count(1, timeout=10_000)
    await shot(page, "transcript")
    await page.get_by_role("navigation", name="Main").get_by_role("link", name="Roleplay Training").click()
    table = page.get_by_role("table", name="Practice sessions")
    await expect(table.get_by_role("row").filter(has_text=SCENARIO)).to_contain_text("Completed")
    await shot(page, "training")
    await page.get_by_role("button", name="Date created").click()  # sort by a column
    await expect(page.get_by_role("columnheader", name="Date created")).to_have_attribute("aria-sort", "ascending")
    await page.context.close()

    # The scenario's creator coaches: overrides a score, comments on a turn, marks it reviewed.
    coach = await new_page(browser, requests_seen)
    await sign_in(coach, live_server, "ada@acme.com", f"/app/attempts/{attempt_id}")
    await expect(coach.get_by_role("heading", name="Coach review")).to_be_visible(timeout=30_000)
    await coach.get_by_label("Score", exact=True).select_option(index=0)
    await coach.get_by_label("Reason").fill("Not enough discovery for this rubric.")
    await coach.get_by_role("button", name="Save score").click()
    await expect(coach.get_by_text(re.compile("Coach ada changed the score"))).to_be_visible()
    await coach.get_by_label("Comment", exact=True).fill("Ask about the cost of late deliveries next time.")
    await coach.get_by_role("button", name="Add comment").click()
    await expect(coach.get_by_text("Ask about the cost of late deliveries next time.").first).to_be_visible()
    await coach.get_by_role("button", name="Mark reviewed").click()
    await expect(coach.get_by_text("Reviewed", exact=True)).to_be_visible()
    await shot(coach, "evaluation-coach", full_page=True)
    # The graded attempt now shows on the leaderboard and in the report's charts.
    nav = coach.get_by_role("navigation", name="Main")
    await nav.get_by_role("link", name="Leaderboard").click()
    await expect(coach.get_by_role("table", name="Leaderboard")).to_contain_text(SCENARIO)
    await expect(coach.get_by_role("img", name=re.compile("^Top scores"))).to_be_visible()
    await shot(coach, "leaderboard")
    await nav.get_by_role("link", name="Report").click()
    await expect(coach.get_by_role("img", name=re.compile("^Average score per criterion"))).to_be_visible()
    await expect(coach.get_by_role("img", name=re.compile("^Overall score over attempts"))).to_be_visible()
    await shot(coach, "report", full_page=True)
    await coach.context.close()
    async with api(live_server) as http:
        view = (await http.get(f"/api/v1/attempts/{attempt_id}/evaluation")).json()
    assert view["coach"]["overrides"] and view["coach"]["comments"] and view["coach"]["reviewed"]
