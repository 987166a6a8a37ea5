"""A learner walks the whole lab in a real browser, following only the pages' own "Next"
links and buttons, and answers every checkpoint. The walk is cut in three, one test per part,
so that the parts run side by side: from Home through the Initial and Repeatable stages on a
fresh workspace; the Reliable stage; the Scalable stage, the recap and Home. A later part
starts on a workspace where `run-all` did the earlier parts' steps (the first part proves
the pages do them), and its learner arrives on the stage page by the previous checkpoint's
own Next link.

Screenshots of each page land in tests/e2e/screenshots/walk-*.png (1400x1000) to look at.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab.checkpoints import questions_of
from lab.devserver import CHROMIUM_ARGS, DONE_SELECTOR, find_chromium, running_app
from lab.steps import STAGES, STEPS, checkpoint_file

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


def see(page, text):
    """Wait until `text` shows. The first match: while a job's panel hands over to the
    page's rerun, the browser may show the old and the new element for a moment."""
    page.get_by_text(text).first.wait_for(timeout=LONG)


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


def pick(page, label, text):
    """Choose an option of the selectbox labelled `label` (typed, then Enter)."""
    page.locator('[data-testid="stSelectbox"]', has_text=label).first.click()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    settle(page)


def walk_the_reliable_stage(page):
    """Baseline and a drifted dataset; the gated pipeline on clean, then drifted, input;
    traffic captured and compared; a broken version rolled back."""
    follow_next(page, "Baseline & drift")
    click(page, "Make the baseline")
    see(page, "Baseline of 6,000 training rows")
    settle(page)
    pick(page, "Shift a feature", "SQUARE_FEET")
    click(page, "Compare with the baseline")
    see(page, "1 of 8 features drifted")
    click(page, "Store it as a dataset")
    see(page, re.compile(r"^Stored as "))
    settle(page)
    shot(page, "12a-drift")
    follow_next(page, "Quality gates & CI/CD")
    click(page, "Start the gated pipeline")
    see(page, "CheckDataQuality passed")
    settle(page)
    pick(page, "InputData", "drifted")
    click(page, "Start the gated pipeline")
    see(page, "CheckDataQuality failed")
    settle(page)
    shot(page, "12b-gates")
    follow_next(page, "Endpoint monitoring")
    click(page, "Apply")
    see(page, "Data capture is on")
    click(page, "Send traffic")
    see(page, "in what the endpoint received")
    settle(page)
    shot(page, "12c-monitoring")
    follow_next(page, "Safe rollouts")
    click(page, "Deploy a broken version")
    see(page, "Rolled back")
    settle(page)
    shot(page, "12d-rollouts")


def walk_scalable(page):
    """The Scalable stage's pages: a job on 3 instances, XGBoost on 2 workers (the training
    page's run is the one-worker model to compare), the smallest measurement, two teams."""
    follow_next(page, "Sharded processing")
    click(page, "Run the sharded processing job")
    see(page, "Every split holds the in-process preparation's rows")
    settle(page)
    click(page, "Train on the workers")
    see(page, re.compile(r"Test MSE ratio"))
    settle(page)
    page.get_by_label("Rows").fill("1000")
    click(page, "Measure")
    see(page, "Every point is the same result")
    settle(page)
    shot(page, "12-scale")
    follow_next(page, "Many teams, one platform")
    click(page, "Set up two example teams")
    see(page, re.compile(r"published by one team and read by the other"))
    settle(page)
    shot(page, "12-teams")


def test_a_fresh_learner_walks_the_initial_and_repeatable_stages(browser, tmp_path):
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
            see(page, "have a negative PRICE")
            shot(page, "03-data")
            follow_next(page, "Prepare the data")
            click(page, "Run in-process")
            see(page, "6,000")
            click(page, "Run as a processing job")
            see(page, "The job's outputs match the in-process preparation")
            settle(page)
            shot(page, "04-prep")
            follow_next(page, "Feature Store")
            click(page, "Create groups and ingest")
            see(page, "Ingested 10,000 rows into 3 feature groups")
            settle(page)
            click(page, "Get record")  # the online store answers by record id
            see(page, "Lookup latency")
            settle(page)
            shot(page, "05-feature-store")
            follow_next(page, "Training & experiments")
            click(page, "Train")
            see(page, "Test R²")
            settle(page)
            page.wait_for_function(  # the run's charts: curves, importance, fit, residuals
                "document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg')"
                ".length >= 4", timeout=LONG)
            shot(page, "06-training")
            click(page, "Start the tuning job")
            see(page, re.compile(r"^tuning-\S+: Completed"))
            settle(page)
            shot(page, "07-tuning")
            follow_next(page, "Registry & deployment")
            click(page, "Register in lab-housing-models")
            see(page, "Model package group")
            settle(page)
            click(page, "Update the approval status")  # the new version, Approved
            see(page, "is now Approved")
            settle(page)
            click(page, "Deploy")
            see(page, re.compile(r"Endpoint .* is InService"))
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
                see(page, re.compile(r"Succeeded in .*, " + ("0" if run == 1 else "[1-9]")
                                     + r" cache hit"))
                settle(page)
            see(page, "RegisterModel ran again")
            shot(page, "10-pipelines")
            follow_next(page, "Repeatable checkpoint")
            answer_checkpoint(page, "Repeatable")
            shot(page, "11-checkpoint-repeatable")
            follow_next(page, "The Reliable stage")  # where the next part begins
        finally:
            context.close()


def seeded(tmp_path, before: str) -> Path:
    """A workspace where `run-all` did every step of the stages before `before`."""
    from tests.cli import run_cli

    later = STAGES[STAGES.index(before):]
    skips = [a for step in STEPS if step.stage in later for a in ("--skip", step.key)]
    ws = tmp_path / "ws"
    result = run_cli("run-all", *skips, ws=ws)
    assert result.returncode == 0, result.stderr[-3000:]
    return ws


@contextmanager
def arriving_at(browser, ws: Path, stage: str):
    """The app on `ws`, a learner on the previous stage's checkpoint, who answers it and
    follows its Next link to `stage`'s page."""
    previous = STAGES[STAGES.index(stage) - 1]
    with running_app(workspace=ws) as server:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            page.goto(f"{server.url}/{checkpoint_file(previous).removesuffix('.py')}")
            heading(page, f"{previous} checkpoint")
            answer_checkpoint(page, previous)
            follow_next(page, f"The {stage} stage")
            shot(page, f"12-stage-{stage.lower()}")
            yield page
        finally:
            context.close()


def finish_stage(page, stage):
    follow_next(page, f"{stage} checkpoint")
    answer_checkpoint(page, stage)
    # every workspace check holds after the walk
    assert page.locator(".material-symbols-rounded", has_text="pending").count() == 0
    shot(page, f"12e-checkpoint-{stage.lower()}")


def test_a_learner_walks_the_reliable_stage(browser, tmp_path):
    with arriving_at(browser, seeded(tmp_path, "Reliable"), "Reliable") as page:
        walk_the_reliable_stage(page)
        finish_stage(page, "Reliable")
        follow_next(page, "The Scalable stage")


def test_a_learner_walks_the_scalable_stage_to_the_recap_and_home(browser, tmp_path):
    ws = seeded(tmp_path, "Scalable")
    from lab.checkpoints import answer, questions_of
    from lab.workspace import Workspace

    for stage in STAGES[:2]:  # the first part's answers (it proves the pages record them)
        for q in questions_of(stage):
            answer(Workspace(ws), q.id, q.correct)
    with arriving_at(browser, ws, "Scalable") as page:
        walk_scalable(page)
        finish_stage(page, "Scalable")
        follow_next(page, "Recap: what you built")
        body = page.locator('[data-testid="stMain"]').inner_text()
        assert "steps 6 of 6 done" in body and "knowledge checks 6 of 6 right" in body
        assert body.count("steps 4 of 4 done") == 2  # the Reliable and Scalable stages'
        scalable = len(questions_of("Scalable"))
        assert f"knowledge checks {scalable} of {scalable} right" in body
        shot(page, "13-recap")
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Home", exact=True).click()
        heading(page, "MLOps Lab")
        # the Reliable and Scalable stages' (their checkpoints were answered here, on a
        # workspace where run-all did every Reliable step, the drifted gate included); not
        # the first two, whose checkpoints were never opened here (a stage's workspace
        # checks are computed there)
        assert page.get_by_text("stage complete").count() == 2
        assert "Workspace checks: 4 of 4 as expected" in page.locator(
            '[data-testid="stMain"]').inner_text()
        shot(page, "14-home-after")
