"""A fresh learner walks the whole lab in a real browser, from Home, following only the
pages' own "Next" links and buttons, answers every checkpoint, and ends on the recap.

Screenshots of each page land in tests/e2e/screenshots/walk-*.png (1400x1000) to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.checkpoints import questions_of
from lab.devserver import CHROMIUM_ARGS, DONE_SELECTOR, find_chromium, running_app
from lab.steps import STAGES

SHOTS = Path(__file__).resolve().parent / "screenshots"
pytestmark = pytest.mark.browser
LONG = 180_000


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
    page.wait_for_selector(DONE_SELECTOR, timeout=LONG)
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0",
        timeout=30_000)
    page.wait_for_timeout(400)
    page.wait_for_selector(DONE_SELECTOR, timeout=LONG)
    assert page.locator('[data-testid="stException"]').count() == 0


def shot(page, name):
    """The whole page: Streamlit scrolls inside its own container, so the viewport is made
    as tall as the page for the picture, then set back to 1400x1000."""
    SHOTS.mkdir(exist_ok=True)
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')"
                           ".scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(max(1000, height + 40), 9000)})
    page.wait_for_timeout(600)
    page.screenshot(path=str(SHOTS / f"walk-{name}.png"))
    page.set_viewport_size({"width": 1400, "height": 1000})


def heading(page, title):
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=LONG)
    settle(page)


def follow_next(page, title):
    """Click the page's own Next link and wait for the page it opens."""
    label = page.locator('[data-testid="stMarkdownContainer"]',
                         has_text=re.compile(r"^(Next: |Start the lab)"))
    page.locator('[data-testid="stMain"] [data-testid="stPageLink"]').filter(
        has=label).last.click()
    heading(page, title)


def click(page, name):
    page.get_by_role("button", name=name, exact=True).first.click()


def answer_checkpoint(page, stage):
    questions = questions_of(stage)
    for i, q in enumerate(questions, 1):
        page.get_by_text(q.choices[q.correct].text, exact=True).first.click()
        page.locator('[data-testid="stAlertContentSuccess"]').nth(i - 1).wait_for(
            timeout=LONG)
    settle(page)
    assert page.locator('[data-testid="stAlertContentSuccess"]').count() == len(questions)


def test_a_fresh_learner_walks_the_whole_lab_by_the_pages_own_links(browser, tmp_path):
    with running_app(workspace=tmp_path / "ws") as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(server.url)
            heading(page, "MLOps Lab")
            shot(page, "01-home")
            follow_next(page, "The Initial stage")
            shot(page, "02-stage-initial")
            follow_next(page, "Explore the data")
            page.get_by_text("have a negative PRICE").first.wait_for(timeout=LONG)
            shot(page, "03-data")
            follow_next(page, "Prepare the data")
            click(page, "Run in-process")
            page.get_by_text("6,000").first.wait_for(timeout=LONG)
            click(page, "Run as a processing job")
            page.get_by_text("The job's outputs match the in-process preparation").wait_for(
                timeout=LONG)
            settle(page)
            shot(page, "04-prep")
            follow_next(page, "Feature Store")
            click(page, "Create groups and ingest")
            page.get_by_text("Ingested 10,000 rows into 3 feature groups").wait_for(timeout=LONG)
            settle(page)
            click(page, "Get record")  # the online store answers by record id
            page.get_by_text("Lookup latency").wait_for(timeout=LONG)
            settle(page)
            shot(page, "05-feature-store")
            follow_next(page, "Training & experiments")
            click(page, "Train")
            page.get_by_text("Test R²").wait_for(timeout=LONG)
            settle(page)
            page.wait_for_function(  # the run's charts: curves, importance, fit, residuals
                "document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg')"
                ".length >= 4", timeout=LONG)
            shot(page, "06-training")
            click(page, "Start the tuning job")
            page.get_by_text(re.compile(r"^tuning-\S+: Completed")).wait_for(timeout=LONG)
            settle(page)
            shot(page, "07-tuning")
            follow_next(page, "Registry & deployment")
            click(page, "Register in lab-housing-models")
            page.get_by_text("Model package group").first.wait_for(timeout=LONG)
            settle(page)
            click(page, "Update the approval status")  # the new version, Approved
            page.get_by_text("is now Approved").wait_for(timeout=LONG)
            settle(page)
            click(page, "Deploy")
            page.get_by_text(re.compile(r"Endpoint .* is InService")).wait_for(timeout=LONG)
            settle(page)
            shot(page, "08-registry")
            follow_next(page, "Initial checkpoint")
            answer_checkpoint(page, "Initial")
            assert page.locator(".material-symbols-rounded", has_text="pending").count() == 0
            shot(page, "09-checkpoint-initial")
            follow_next(page, "The Repeatable stage")
            follow_next(page, "Pipelines")
            for run in (1, 2):  # the second execution reuses the first one's steps
                click(page, "Start lab-housing-pipeline")
                page.get_by_text(re.compile(r"Succeeded in .*, " + ("0" if run == 1 else "[1-9]")
                                            + r" cache hit")).first.wait_for(timeout=LONG)
                settle(page)
            page.get_by_text("RegisterModel ran again").wait_for(timeout=LONG)
            shot(page, "10-pipelines")
            follow_next(page, "Repeatable checkpoint")
            answer_checkpoint(page, "Repeatable")
            shot(page, "11-checkpoint-repeatable")
            for stage in STAGES[2:]:
                follow_next(page, f"The {stage} stage")
                shot(page, f"12-stage-{stage.lower()}")
                follow_next(page, f"{stage} checkpoint")
                answer_checkpoint(page, stage)
            follow_next(page, "Recap: what you built")
            body = page.locator('[data-testid="stMain"]').inner_text()
            assert "steps 6 of 6 done" in body and "knowledge checks 6 of 6 right" in body
            assert "workspace checks 5 of 5" in body and "workspace checks 3 of 3" in body
            shot(page, "13-recap")
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Home", exact=True).click()
            heading(page, "MLOps Lab")
            assert page.get_by_text("stage complete").count() == 4
            shot(page, "14-home-after")
        finally:
            context.close()
