"""Workshop mode in a real browser: two attendees at once, each in a workspace of their own
(kept across pages), and the instructor's view behind a passcode.

Screenshots: tests/e2e/screenshots/workshop-*.png.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from lab.devserver import CHROMIUM_ARGS, DONE_SELECTOR, find_chromium, running_app
from lab.steps import STEPS

SHOTS = Path(__file__).resolve().parent / "screenshots"
PASSCODE = "room-42-trusty"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        pytest.skip("no chromium on this machine (CI installs it with apt: see .ci/run)")
    pytest.importorskip("playwright", reason="playwright is in requirements-test.txt")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def settle(page):
    page.wait_for_selector(DONE_SELECTOR, timeout=90_000)
    page.wait_for_timeout(400)
    page.wait_for_selector(DONE_SELECTOR, timeout=90_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def session_of(page) -> str:
    return parse_qs(urlparse(page.url).query)["ws"][0]


def nav(page, title):
    page.locator('[data-testid="stSidebarNav"]').get_by_text(title, exact=True).click()
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=90_000)
    settle(page)


def test_two_attendees_work_apart_and_the_instructor_sees_each(browser, tmp_path):
    env = {"LAB_WORKSHOP": "1", "LAB_INSTRUCTOR_PASSCODE": PASSCODE}
    with running_app(workspace=tmp_path / "room", env=env) as server:
        contexts = [browser.new_context(viewport={"width": 1280, "height": 720})
                    for _ in range(3)]
        alice, bob, teacher = (c.new_page() for c in contexts)
        try:
            for page in (alice, bob):
                page.goto(server.url)
                page.get_by_role("heading", name="MLOps Lab").first.wait_for(timeout=90_000)
                settle(page)
            a, b = session_of(alice), session_of(bob)
            assert a != b
            # Alice prepares the data; her workspace id survives the move between pages
            nav(alice, "Prepare the data")
            assert session_of(alice) == a
            alice.get_by_role("button", name="Run in-process").click()
            alice.get_by_text("6,000").first.wait_for(timeout=90_000)
            settle(alice)
            nav(alice, "Initial checkpoint")
            alice.get_by_text("So that nothing about the validation and test rows leaks "
                              "into training.", exact=True).click()
            alice.locator('[data-testid="stAlertContentSuccess"]').first.wait_for(
                timeout=90_000)
            settle(alice)
            # Bob, at the same time, sees none of it
            nav(bob, "Prepare the data")
            assert session_of(bob) == b
            bob.get_by_text("Nothing prepared yet").wait_for(timeout=30_000)
            SHOTS.mkdir(exist_ok=True)
            bob.screenshot(path=str(SHOTS / "workshop-bob-prep.png"))

            teacher.goto(f"{server.url}/instructor")
            teacher.get_by_role("heading", name="Instructor").first.wait_for(timeout=90_000)
            settle(teacher)
            box = teacher.get_by_label("Passcode")
            box.fill("not-the-passcode")
            teacher.get_by_role("button", name="Open the instructor's view").click()
            teacher.get_by_text("That passcode is not right.").wait_for(timeout=30_000)
            assert teacher.locator('[data-testid="stTable"]').count() == 0
            teacher.screenshot(path=str(SHOTS / "workshop-instructor-refused.png"))
            box.fill(PASSCODE)
            teacher.get_by_role("button", name="Open the instructor's view").click()
            table = teacher.locator('[data-testid="stTable"]')
            table.wait_for(timeout=30_000)
            settle(teacher)
            rows = {r.split()[0]: r
                    for r in table.locator("tbody tr").all_inner_texts()}
            assert a in rows and b in rows
            built = len([s for s in STEPS if s.built])
            assert re.search(rf"\b2 of {built}\b", rows[a])  # the data and its preparation
            assert re.search(rf"\b1 of {built}\b", rows[b])  # a page chose the data only
            assert "1/6" in rows[a] and "0/6" in rows[b]  # Initial knowledge checks
            teacher.screenshot(path=str(SHOTS / "workshop-instructor.png"), full_page=True)
        finally:
            for c in contexts:
                c.close()
