"""The Performance page through AppTest: no run yet (it says so and offers the button), a
saved run (charts of the lab against the naive way and the scale curves, every figure), and
the button starting the bench as a job whose result the page then shows."""

from __future__ import annotations

import pytest

import lab.bench
from lab.bench import run_bench, save
from lab.benchscale import scale_curves
from lab.formats import number
from lab.jobs import JobStore
from lab.workspace import Workspace
from tests.app.test_cleanup_page import open_app, run, texts, wait_for_jobs

PAGE = "pages/performance.py"


@pytest.fixture(scope="module")
def measured() -> dict:
    """A real (tiny) bench result: one figure with its reference, and two curve sizes."""
    result = run_bench(only="prep in-process", runs=1, log=lambda line: None)
    result["curves"] = scale_curves(sizes=(1_000, 2_000), log=lambda line: None)
    return result


def test_without_a_run_the_page_says_so_and_offers_the_button(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, PAGE)
    assert at.title[0].value == "Performance"
    assert "No bench run yet in this workspace" in texts(at)
    assert at.button(key="bench_run").label == "Run the quick bench"
    assert not at.get("plotly_chart")


def test_a_saved_run_shows_speedups_curves_and_every_figure(tmp_path, monkeypatch, measured):
    save(tmp_path, measured)
    at = open_app(tmp_path, monkeypatch, PAGE)
    assert "No bench run yet" not in texts(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the lab against the naive way, and the scale curves
    [table] = [d.value for d in at.dataframe]
    assert list(table["figure"]) == ["prep in-process (10,000 rows)"]
    assert table["speed-up"][0] == f"{number(measured['figures'][0]['speedup'])}x"
    assert table["budget"][0] == "-"  # no budget: a dash, where a number column said None
    assert "50 MB" in texts(at, "caption")  # the largest size the lab accepts


def test_a_figure_with_no_budget_shows_a_dash_and_its_detail_under_the_table(
        tmp_path, monkeypatch):
    from lab.bench import summarise

    save(tmp_path, {"figures": [
        {**summarise("app memory", "MB", [300.0], None), "detail": "a fresh workshop server"},
        summarise("page rerun", "s", {"Home": [0.05], "Training": [0.09]}, 0.1, [0.2], "x")],
        "curves": {}})
    at = open_app(tmp_path, monkeypatch, PAGE)
    [table] = [d.value for d in at.dataframe]
    assert list(table["budget"]) == ["-", "< 0.1 s"] and table["speed-up"][0] == "-"
    assert list(table["figure"]) == ["app memory", "page rerun (slowest: Training)"]
    assert "**app memory**: a fresh workshop server" in texts(at, "caption")


def test_the_button_runs_the_bench_as_a_job_and_the_page_shows_it(tmp_path, monkeypatch):
    real = lab.bench.bench_job
    # The quick bench takes minutes: the job runs the same command on one cheap figure.
    monkeypatch.setattr(lab.bench, "bench_job", lambda s, quick=True: real(
        s, quick, extra_args=("--only", "lab --help", "--runs", "1", "--save")))
    at = open_app(tmp_path, monkeypatch, PAGE)
    run(at.button(key="bench_run").click())
    wait_for_jobs(tmp_path, kind="bench")
    [job] = JobStore(Workspace(tmp_path)).list("bench")
    assert job.status == "Completed", job.error
    at = run(at)
    assert "No bench run yet" not in texts(at)
    [table] = [d.value for d in at.dataframe]
    assert list(table["figure"]) == ["python -m lab --help, fresh process"]
