"""The bench's report: its JSON shape on tiny selections, the reference and speed-up fields,
the saved run the Performance page reads, and the scale curves' points. No time is asserted
(the figures are the bench's to report, not the tests')."""

from __future__ import annotations

import json

import pytest

from lab.bench import latest, save, summarise
from lab.benchscale import bounds, scale_curves
from lab.benchview import figure_rows, over_budget
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


def test_latest_reads_what_was_saved_and_none_before(tmp_path):
    settings = Settings(workspace=tmp_path)
    assert latest(settings) is None
    result = {"figures": [summarise("t", "s", [1.0], 2.0, [3.0], "naive")], "curves": {}}
    save(tmp_path, result)
    assert latest(settings) == result
    [row] = figure_rows(result)
    assert row["within budget"] == "yes" and row["speed-up"] == 3.0
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
