"""Headless Chromium (Debian's, never a downloaded one) against a live server."""

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections, transaction

from releases import actions

# Playwright's sync API runs an event loop in this thread; Django refuses
# database access from a thread with a running loop unless told it is fine.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path("/tmp/shots")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package."
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db) -> Iterator:
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []

    def on_console(message) -> None:
        # A CSP violation or a script error shows up here: fail the test on
        # it. Error statuses are part of what the tests look at.
        if message.type == "error" and "Failed to load resource" not in message.text:
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def sign_in(page):
    def sign_in_as(username: str) -> None:
        page.goto("/login/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(f"pw-{username}")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/")

    return sign_in_as


@pytest.fixture
def shoot(page):
    SHOTS.mkdir(parents=True, exist_ok=True)

    def screenshot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    return screenshot


@pytest.fixture
def run_seconds() -> float:
    """How long a simulated release run takes; a test module may override."""
    return 8


@pytest.fixture
def worker(github_sandbox, settings, monkeypatch, run_seconds) -> Iterator[None]:
    """Background tasks on threads, as the worker would run them, with a run
    that takes long enough to be watched."""
    from django_q.tasks import async_task

    settings.SANDBOX_RUN_SECONDS = run_seconds
    settings.RUN_POLL_SECONDS = min(0.5, run_seconds / 10)
    threads: list[threading.Thread] = []

    def run(func: str, args: tuple) -> None:
        try:
            async_task(func, *args)  # django-q in sync mode: runs right here
        finally:
            connections.close_all()

    def enqueue(func: str, *args) -> None:
        thread = threading.Thread(target=run, args=(func, args), daemon=True)
        threads.append(thread)
        transaction.on_commit(thread.start)

    monkeypatch.setattr(actions, "_enqueue", enqueue)
    yield
    for thread in threads:
        thread.join(timeout=30)
