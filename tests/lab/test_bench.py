"""The bench's report: its JSON shape on tiny selections, the reference and speed-up fields,
the saved run the Performance page reads, and the scale curves' points. No time is asserted
(the figures are the bench's to report, not the tests')."""

from __future__ import annotations

import json

import pytest

from lab.bench import lab_fresh, latest, save, summarise
from lab.benchscale import bounds, own_peak_mb, scale_curves
from lab.benchview import figure_details, figure_rows, over_budget
from lab.settings import Settings
from tests.cli import run_cli

FIELDS = {"name", "unit", "median", "p99", "runs", "budget"}


def test_a_selection_reports_every_field_and_saves_nothing(tmp_path):
    proc = run_cli("bench", "--only", "lab --help", "--runs", "2", "--quick", "--json",
                   ws=tmp_path / "ws")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    [figure] = out["figures"]
    assert figure["name"] == "python -m lab --help, fresh process"
    assert FIELDS <= set(figure) and figure["runs"] == 2 and figure["budget"] == 0.3
    assert 0 < figure["median"] <= figure["p99"]
    assert "reference" not in figure  # no naive way of asking for help
    assert out["quick"] is True and out["curves"] == {}  # a selection measures no curves
    assert out["cpus"] >= 1 and len(out["load_average_before"]) == 3
    assert latest(Settings(workspace=tmp_path / "ws")) is None  # never replaces a whole run


def test_a_figure_with_a_reference_reports_it_and_the_speedup(tmp_path):
    proc = run_cli("bench", "--only", "prep in-process", "--runs", "1", "--json", "--save",
                   ws=tmp_path / "ws")
    assert proc.returncode == 0, proc.stderr
    [figure] = json.loads(proc.stdout)["figures"]
    assert FIELDS | {"reference", "speedup", "reference_what", "reference_runs"} <= set(figure)
    assert figure["reference"] > 0 and figure["reference_runs"] == 1
    assert figure["speedup"] == pytest.approx(figure["reference"] / figure["median"], rel=0.01)
    assert "fresh interpreter" in figure["reference_what"]
    saved = latest(Settings(workspace=tmp_path / "ws"))  # --save keeps even a selection
    assert saved["figures"][0]["name"] == figure["name"]


def test_speedup_of_a_rate_is_lab_over_reference_and_budgets_can_be_on_p99():
    rate = summarise("rps", "req/s", [400.0, 600.0], 500.0, [100.0], "naive")
    assert rate["speedup"] == 5.0 and not over_budget(rate)
    assert over_budget(summarise("rps", "req/s", [400.0], 500.0))  # a rate under its floor
    slow = summarise("t", "s", [2.0, 4.0], 1.0, [8.0, 8.0])
    assert slow["speedup"] == pytest.approx(8.0 / 3.0, rel=0.01) and over_budget(slow)
    tail = summarise("ms", "ms", [0.5] * 49 + [3.0], 1.0, budget_on="p99")
    assert tail["budget_on"] == "p99" and over_budget(tail)
    assert not over_budget(summarise("ms", "ms", [0.5] * 49 + [3.0], 1.0))  # on the median
    assert "reference" not in summarise("x", "s", [1.0], None, [])


def test_grouped_samples_report_the_slowest_groups_median_and_the_p99_of_all():
    pages = {"Home": [0.04, 0.05, 0.06], "Data": [0.09, 0.08, 0.30], "Prep": [0.07]}
    uncached = {"Home": [0.05], "Data": [0.20], "Prep": [0.40]}
    figure = summarise("rerun", "s", pages, 0.1, uncached, "no cache")
    assert figure["median"] == 0.09 and figure["slowest"] == "Data"
    assert figure["groups"] == {"Home": 0.05, "Data": 0.09, "Prep": 0.07}
    assert figure["p99"] == 0.30 and figure["runs"] == 7  # over every group's samples
    assert figure["reference"] == 0.40 and figure["reference_slowest"] == "Prep"
    assert figure["reference_runs"] == 3 and figure["speedup"] == pytest.approx(0.40 / 0.09,
                                                                                 rel=0.01)
    assert "slowest" not in summarise("plain", "s", [1.0, 2.0], None)


def test_the_pages_rows_show_a_dash_where_a_figure_has_no_budget_or_reference():
    """st.dataframe shows an empty number as "None" whatever the Styler's na_rep: the
    budget, reference and speed-up columns are text, "-" where there is none."""
    result = {"figures": [
        summarise("plain", "MB", [300.0], None),
        summarise("rate", "req/s", [900.0], 3000.0),
        summarise("tail", "ms", [0.5, 2.0], 1.0, [20.0], "naive", budget_on="p99"),
        {**summarise("rerun", "s", {"Home": [0.05], "Data": [0.2]}, 0.1),
         "detail": "6 pages"},
        {"name": "gone", "unit": None, "median": None, "p99": None, "runs": 0,
         "budget": None, "skipped": "no chromium"}]}
    rows = figure_rows(result)
    cells = [v for row in rows for k, v in row.items() if k not in ("median", "p99")]
    assert None not in cells and "None" not in map(str, cells)
    plain, rate, tail, rerun, gone = rows
    assert (plain["budget"], plain["reference"], plain["speed-up"]) == ("-", "-", "-")
    assert rate["budget"] == ">= 3,000 req/s" and rate["within budget"] == "no"
    assert tail["budget"] == "p99 < 1 ms" and tail["reference"] == "20 ms"
    assert rerun["figure"] == "rerun (slowest: Data)"
    assert gone["within budget"] == "not measured"
    assert figure_details(result) == [("rerun", "6 pages"), ("gone", "not measured: no chromium")]
    twice = {"figures": [{**summarise(n, "MB", [1.0], None), "detail": "one run"}
                         for n in ("server", "workers")]}
    assert figure_details(twice) == [("server · workers", "one run")]


def test_a_fresh_process_reports_its_own_peak_memory_not_the_bench_s():
    """Linux keeps, across exec, the larger of a child's peak and its parent's memory at the
    fork in the child's rusage: the bench's child reports its own high-water mark instead."""
    ballast = bytearray(400 * 1024 * 1024)  # the bench is large by the time run-all starts
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident, not just reserved
    seconds, peak_mb = lab_fresh(["--help"])
    assert seconds > 0 and 0 < peak_mb < 200 < 400 < own_peak_mb()
    del ballast


def test_latest_reads_what_was_saved_and_none_before(tmp_path):
    settings = Settings(workspace=tmp_path)
    assert latest(settings) is None
    result = {"figures": [summarise("t", "s", [1.0], 2.0, [3.0], "naive")], "curves": {}}
    save(tmp_path, result)
    assert latest(settings) == result
    [row] = figure_rows(result)
    assert row["within budget"] == "yes" and row["speed-up"] == "3x"
    assert row["budget"] == "< 2 s" and row["reference"] == "3 s"
    (tmp_path / "bench" / "latest.json").write_text("{half a file")
    assert latest(settings) is None  # unreadable: as if there were none


def test_scale_curves_time_each_step_at_each_size():
    lines: list[str] = []
    curves = scale_curves(sizes=(1_000, 2_000), log=lines.append)
    points = curves["points"]
    assert [(p["what"], p["rows"]) for p in points] == [
        (what, rows) for rows in (1_000, 2_000)
        for what in ("prep", "processing", "ingest", "query", "training")]
    assert all(p["seconds"] > 0 and p["peak_rss_mb"] > 0 for p in points)
    assert len(lines) == len(points)
    assert curves["bounds"] == bounds()
    assert "50 MB" in bounds()[0] and "5,000,000" in bounds()[1]
