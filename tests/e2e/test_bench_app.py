"""The bench's figures of the app itself (lab/benchapp.py), each on real servers: a page's
rerun beside the same reruns with the pages' caches off, the app's peak memory with a room
of attendees, and Home's first render in chromium with its parts. Their report's keys are
checked on the fewest runs; no time is asserted (the figures are the bench's to report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lab.bench
import lab.benchapp
from lab.bench import save, summarise
from lab.benchapp import (
    HOME_PARTS,
    PAGE_RERUN,
    PAGES,
    ROOM_ONE,
    ROOM_THIRTY,
    SERVER_PART,
    WORKERS_PART,
)
from lab.devserver import CHROMIUM_ARGS, DONE_SELECTOR, find_chromium, running_app
from tests.cli import run_cli

SHOTS = Path(__file__).resolve().parent / "screenshots"

FIELDS = {"name", "unit", "median", "p99", "runs", "budget"}

pytestmark = pytest.mark.browser


def bench(tmp_path, only: str, *args: str) -> list[dict]:
    pytest.importorskip("websockets", reason="websockets is in requirements-test.txt")
    proc = run_cli("bench", "--only", only, "--quick", "--json", *args, ws=tmp_path / "ws")
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)["figures"]
    assert not [f for f in figures if f.get("skipped")], figures
    return figures


def test_a_page_rerun_is_reported_per_page_beside_the_same_reruns_uncached(tmp_path):
    [figure] = bench(tmp_path, "page rerun", "--runs", "1")
    titles = [title for _, title in PAGES]
    assert figure["name"] == PAGE_RERUN and figure["budget"] == 0.1
    assert FIELDS | {"reference", "speedup", "reference_what", "slowest", "groups",
                     "reference_groups", "detail"} <= set(figure)
    assert list(figure["groups"]) == titles == list(figure["reference_groups"])
    assert figure["runs"] == figure["reference_runs"] == len(titles)  # one rerun per page
    # the figure is the slowest page's median, its p99 over every page's reruns
    assert figure["median"] == figure["groups"][figure["slowest"]] == max(
        figure["groups"].values()) <= figure["p99"]
    assert figure["reference"] == max(figure["reference_groups"].values())
    assert "LAB_PAGE_CACHE=off" in figure["reference_what"]


def test_the_apps_memory_is_reported_with_one_attendee_and_a_room(tmp_path, monkeypatch):
    # thirty attendees paced take a minute: the same figures with a room of two, no pause
    monkeypatch.setattr(lab.benchapp, "ROOMS", ((ROOM_ONE, 1), (ROOM_THIRTY, 2)))
    monkeypatch.setitem(lab.bench.ROOM_PAUSE_S, True, 0.0)
    figures = bench(tmp_path, "app memory")
    assert [f["name"] for f in figures] == [
        f"{room}: {part}" for room in (ROOM_ONE, ROOM_THIRTY)
        for part in (SERVER_PART, WORKERS_PART)]
    for figure in figures:
        assert FIELDS | {"detail", "errors"} <= set(figure)
        assert figure["unit"] == "MB" and figure["runs"] == 1 and figure["errors"] == 0
        assert figure["median"] > 0  # a server and its workers hold memory
    assert "2 attendee(s)" in figures[-1]["detail"] and "0 s between" in figures[-1]["detail"]


def test_homes_first_render_is_reported_with_its_parts(tmp_path):
    if find_chromium() is None:
        pytest.skip("no chromium on this machine (CI installs it with apt: see .ci/run)")
    figures = bench(tmp_path, "Home", "--runs", "1")
    by_name = {f["name"]: f for f in figures}
    whole = by_name.pop("Home page first render after server start (chromium)")
    assert whole["budget"] == 1.0 and whole["runs"] == 1
    assert set(by_name) == set(HOME_PARTS.values())
    first_run = by_name[HOME_PARTS["first_run_s"]]["median"]
    browser = by_name[HOME_PARTS["browser_s"]]
    assert 0 < first_run < whole["median"] and browser["median"] > 0
    assert browser["median"] == pytest.approx(whole["median"] - first_run, abs=2e-6)
    assert "before the script run" in browser["detail"]
    assert by_name[HOME_PARTS["server_start_s"]]["median"] > 0


def test_the_performance_page_shows_the_new_figures_in_chromium(tmp_path):
    """Figures with no budget or reference, a grouped one and details, drawn by the real
    front end (st.dataframe draws an empty number as "None"): the screenshot
    performance-figures.png is to look at."""
    if find_chromium() is None:
        pytest.skip("no chromium on this machine (CI installs it with apt: see .ci/run)")
    from playwright.sync_api import sync_playwright

    save(tmp_path, {"figures": [
        summarise("python -m lab --help, fresh process", "s", [0.05], 0.3),
        {**summarise(PAGE_RERUN, "s", {"Home": [0.05], "Training": [0.09, 0.11]}, 0.1,
                     {"Home": [0.06], "Training": [0.3]}, "the pages' caches off"),
         "detail": "six pages"},
        *[{**summarise(f"{ROOM_THIRTY}: {part}", "MB", [mb], None), "detail": "one room"}
          for part, mb in ((SERVER_PART, 360.0), (WORKERS_PART, 1380.0))]],
        "curves": {}, "quick": True, "cpus": 2})
    with running_app(workspace=tmp_path) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{server.url}/performance")
            page.get_by_role("heading", name="Every figure").wait_for(timeout=60_000)
            page.wait_for_selector(DONE_SELECTOR, timeout=60_000)
            page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
            page.wait_for_timeout(1000)  # the grid draws on a canvas after the script
            assert page.locator('[data-testid="stException"]').count() == 0
            captions = page.locator('[data-testid="stCaptionContainer"]').all_inner_texts()
            assert any("six pages" in c for c in captions)
            assert any(f"{SERVER_PART} · " in c and "one room" in c for c in captions)
            SHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SHOTS / "performance-figures.png"), full_page=True)
        finally:
            browser.close()
