"""`python -m lab scale`: processing and training timed against workers, results checked.

What these add: the measurement runs end to end with real worker processes (the smallest
dataset it takes, so the test is about the job, not the timings, which are never
asserted), its checks are computed from the outputs, its bulky files are removed, the chart
is built from its numbers, and bad sizes or worker lists are refused before anything runs.
"""

from __future__ import annotations

import json

import pytest

from lab.scaling import speedup_chart
from tests.cli import run_cli


def test_scale_times_each_worker_count_and_checks_every_result(tmp_path):
    done = run_cli("scale", "--rows", "1000", "--workers", "2,1", "--rounds", "5", "--json",
                   ws=tmp_path / "ws")

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)["scale"]
    assert [p["workers"] for p in result["points"]] == [1, 2]
    for point in result["points"]:
        assert point["rows"] == {"train": 600, "validation": 200, "test": 200}
        assert point["processing_s"] > 0 and point["training_s"] > 0
        assert sum(point["train_rows_per_worker"]) == 600
        assert len(point["train_rows_per_worker"]) == point["workers"]
    assert result["checks"]["ok"], result["checks"]
    [job] = (tmp_path / "ws" / "jobs").iterdir()
    assert not list(job.glob("workers-*")) and not (job / "data").exists()  # data removed
    figure = speedup_chart(result)
    measured = [t for t in figure.data if t.name == "training (measured)"][0]
    assert list(measured.y) == [p["training_s"] for p in result["points"]]


@pytest.mark.parametrize("args, message", [
    (("--rows", "10"), "Rows must be between 1,000 and 5,000,000"),
    (("--workers", "0,2"), "between 1 and 8"),
    (("--workers", "one,two"), "whole numbers separated by commas"),
    (("--workers", "1,2,3,4,5"), "At most 4 worker counts")])
def test_bad_sizes_are_refused_before_anything_runs(tmp_path, args, message):
    done = run_cli("scale", *args, ws=tmp_path / "ws")

    assert done.returncode == 2 and message in done.stderr
    assert not (tmp_path / "ws" / "jobs").exists()
