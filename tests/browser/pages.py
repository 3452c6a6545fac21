"""Helpers for the browser tests: sign in, wait on page state, and record every request a page makes.

The pages send a Content-Security-Policy without 'unsafe-eval', so Playwright's `wait_for_function` (which
compiles its predicate inside the page) is refused; `wait_until` polls `page.evaluate` instead, which goes
through the DevTools protocol and leaves the policy in force for the page itself.
"""

from __future__ import annotations

import asyncio
from typing import Any

from playwright.async_api import Page

from tests.support.live import PASSWORD, LiveServer


async def wait_until(page: Page, expression: str, *, timeout: float = 15.0, interval: float = 0.1) -> Any:  # noqa: ASYNC109
    """The value of `expression` (a JavaScript expression or arrow function) once it is truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"waited {timeout} s for {expression!r}")
        await asyncio.sleep(interval)


async def sign_in(page: Page, live: LiveServer, email: str, next_path: str = "/app/training") -> None:
    await page.goto(f"{live.base_url}/login?next={next_path}")
    await page.get_by_label("Email", exact=True).fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{live.base_url}{next_path}")


def record_requests(page: Page, into: list[str]) -> Page:
    """Keep the URL of every request the page makes (documents, scripts, API calls, media, WebSockets)."""
    page.on("request", lambda request: into.append(request.url))
    page.on("websocket", lambda ws: into.append(ws.url))
    return page


def outside(urls: list[str], base_url: str) -> list[str]:
    ws_base = base_url.replace("http", "ws", 1)
    return [u for u in urls if not u.startswith((base_url + "/", ws_base + "/", "data:", "blob:"))]
