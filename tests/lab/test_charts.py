"""Charts hold the numbers of the run they show."""

from __future__ import annotations

import numpy as np

from lab import charts
from lab.dataset import generate_housing
from lab.processing import load_prepared, read_meta, run_prep


def test_split_sizes_chart_shows_the_rows_of_the_run(ws):
    result = run_prep(ws)
    fig = charts.split_sizes(result.rows)
    assert list(fig.data[0].y) == [6000, 2000, 2000]
    assert list(fig.data[0].x) == ["train", "validation", "test"]


def test_scaling_chart_recovers_the_raw_train_values(ws):
    run_prep(ws)
    train, meta = load_prepared(ws.processed_dir)["train"], read_meta(ws.processed_dir)
    fig = charts.scaling_before_after(train, meta, "YEAR_BUILT")
    before, after = np.asarray(fig.data[0].x), np.asarray(fig.data[1].x)
    assert len(before) == len(after) == 6000
    assert np.allclose(before, np.round(before))  # years again, not z-scores
    raw_years = set(generate_housing()["YEAR_BUILT"])
    assert set(np.round(before).astype(int)) <= raw_years
    assert abs(after.mean()) < 1e-9


def test_correlation_chart_is_built_from_the_data():
    df = generate_housing(500)
    fig = charts.correlation(df)
    z = np.asarray(fig.data[0].z)
    assert z.shape == (9, 9)
    assert np.allclose(np.diag(z), 1)
    assert z[list(df.columns).index("SQUARE_FEET"), -1] > 0.5  # price follows square feet
