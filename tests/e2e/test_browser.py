"""The app in a real browser: `streamlit run` on a free port, driven with system chromium.

Screenshots of every page land in tests/e2e/screenshots/ (ignored by git) to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.devserver import CHROMIUM_ARGS, DONE_SELECTOR, find_chromium, running_app
from lab.steps import HOME, TOOL_PAGES, pages

SHOTS = Path(__file__).resolve().parent / "screenshots"
# url path -> title shown, from the step registry (the router's pages): Home is the default
# page (no path) and shows "MLOps Lab"; the others' paths are their file names
PAGES = {("" if p.file == HOME else Path(p.file).stem): ("MLOps Lab" if p.file == HOME
                                                          else p.title)
         for p in pages(instructor=False)}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if find_chromium() is None:
        pytest.skip("no chromium on this machine (CI installs it with apt: see .ci/run)")
    pytest.importorskip("playwright", reason="playwright is in requirements-test.txt")
    with running_app(workspace=tmp_path_factory.mktemp("browser-ws")) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=find_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    # tall enough that a screenshot shows a whole page (Streamlit scrolls inside its own
    # container, so full_page screenshots stop at the viewport)
    context = browser.new_context(viewport={"width": 1400, "height": 2200})
    pg = context.new_page()
    yield pg
    context.close()


def open_page(page, server, path, title):
    page.goto(f"{server.url}/{path}")
    page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=60_000)
    page.wait_for_selector(DONE_SELECTOR, timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def shot(page, name):
    # the script can be done before the front end has painted its widgets: wait for that
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=\"stSkeleton\"]').length === 0",
        timeout=30_000)
    page.wait_for_timeout(500)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# Every page of the lab's walk is opened, and its steps run from their buttons (the
# processing job, ingestion and an online lookup, training with its charts, two pipeline
# executions), in a browser by tests/e2e/test_learner_walk.py, and every page, the tools
# included, by AppTest in tests/app. Here: the pages the walk does not open, Home's
# diagrams, a deep link as a server's first visit, and a malformed upload.
OUTSIDE_THE_WALK = ["", *(Path(p.file).stem for p in TOOL_PAGES)]


@pytest.mark.parametrize("path", OUTSIDE_THE_WALK)
def test_the_pages_outside_the_walk_render_without_an_exception(page, server, path):
    open_page(page, server, path, PAGES[path])
    if path == "":
        page.wait_for_selector('[data-testid="stGraphVizChart"] svg', timeout=30_000)
    shot(page, path or "home")


def test_a_malformed_upload_shows_a_clear_message(page, server, tmp_path):
    open_page(page, server, "data", "Explore the data")
    page.get_by_text("Use another dataset").click()
    bad = tmp_path / "broken.csv"
    bad.write_text("a,b\n1,2\n3,4,5,6\n")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    page.get_by_text("is not a well-formed CSV").wait_for(timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    shot(page, "data-bad-upload")


def test_a_deep_link_as_the_first_visit_after_a_server_start_gets_the_router(browser, tmp_path):
    """Streamlit's legacy pages/ mode must not take over the first session (see pages/_ui.py)."""
    with running_app(workspace=tmp_path / "ws") as fresh:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            open_page(page, fresh, "prep", "Prepare the data")
            nav = page.locator('[data-testid="stSidebarNav"]')
            nav.get_by_text("The Initial stage").wait_for(timeout=30_000)
            assert nav.get_by_text("ui", exact=True).count() == 0
            assert nav.get_by_text("streamlit app", exact=True).count() == 0
        finally:
            context.close()
