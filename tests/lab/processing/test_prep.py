"""Data preparation: the workshop's procedure, bring-your-own cleaning, and bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from lab.dataset import load_dataset, read_csv_path, save_dataset
from lab.errors import DataError, ParameterError
from lab.processing import (
    PrepParams,
    choose_target,
    last_result,
    load_prepared,
    run_prep,
    use_dataset,
)
from tests.workspaces import snapshot


def workshop_reference(df: pd.DataFrame, target="PRICE", seed=42):
    """The workshop notebook's cells, transcribed: pop/insert, two splits, scale, keep target."""
    df = df.copy()
    first = df.pop(target)
    df.insert(0, target, first)
    df_train, df_rest = train_test_split(df, test_size=0.4, train_size=0.6, random_state=seed)
    df_val, df_test = train_test_split(df_rest, test_size=0.5, train_size=0.5, random_state=seed)
    parts = [p.reset_index(drop=True) for p in (df_train, df_val, df_test)]
    scaler = StandardScaler()
    out = [pd.DataFrame(scaler.fit_transform(parts[0]), columns=parts[0].columns)]
    out += [pd.DataFrame(scaler.transform(p), columns=p.columns) for p in parts[1:]]
    for o, p in zip(out, parts):
        o[target] = p[target]
    return dict(zip(("train", "validation", "test"), out))


def test_workshop_data_is_split_and_scaled_exactly_as_the_workshop(ws, house_csv):
    use_dataset(ws, read_csv_path(house_csv), "house_pricing.csv", "PRICE", "file")
    result = run_prep(ws)
    assert result.rows == {"train": 6000, "validation": 2000, "test": 2000}
    expected = workshop_reference(pd.read_csv(house_csv))
    written = load_prepared(ws.processed_dir)
    for split in ("train", "validation", "test"):
        pd.testing.assert_frame_equal(written[split], expected[split])
        # the CSV has no header, and the target is the first column, unscaled
        first_line = (ws.processed_dir / split / f"{split}.csv").read_text().splitlines()[0]
        assert first_line.split(",")[0] == str(expected[split]["PRICE"].iloc[0])


def test_generated_dataset_is_the_default_and_prepares_60_20_20(ws):
    result = run_prep(ws)
    assert result.dataset == "generated_housing"
    assert result.target == "PRICE"
    assert result.features == ["YEAR_BUILT", "SQUARE_FEET", "NUM_BEDROOMS", "NUM_BATHROOMS",
                               "LOT_ACRES", "GARAGE_SPACES", "FRONT_PORCH", "DECK"]
    assert result.rows == {"train": 6000, "validation": 2000, "test": 2000}
    train = load_prepared(ws.processed_dir)["train"]
    assert np.allclose(train[result.features].mean(), 0, atol=1e-9)
    assert np.allclose(train[result.features].std(ddof=0), 1, atol=1e-9)
    assert last_result(ws).rows == result.rows


def test_own_csv_one_hot_missing_target_and_median_fill(ws):
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"area": rng.normal(100, 10, n), "city": rng.choice(["a", "b", "c"], n),
                       "owner": [f"person {i}" for i in range(n)],
                       "value": rng.normal(1000, 50, n)})
    df.loc[[3, 7], "value"] = np.nan
    df.loc[[10, 20, 30], "area"] = np.nan
    use_dataset(ws, df, "mine.csv", "value", "upload")
    result = run_prep(ws)
    assert result.features == ["area", "city_a", "city_b", "city_c"]
    assert sum(result.rows.values()) == n - 2
    assert result.cleaning["dropped_missing_target"] == 2
    assert result.cleaning["filled_with_median"]["area"]["count"] == 3
    assert "owner" in result.cleaning["ignored"]
    frames = load_prepared(ws.processed_dir)
    assert not any(f.isna().any().any() for f in frames.values())


@pytest.mark.parametrize("frame, target, message", [
    (pd.DataFrame({"name": [f"n{i}" for i in range(60)], "y": range(60)}), "y",
     "No usable feature"),
    (pd.DataFrame({"x": range(20), "y": ["cheap", "dear"] * 10}), "y", "must be numeric"),
    (pd.DataFrame({"x": range(20), "y": range(20)}), "PRICE", "There is no column 'PRICE'"),
    (pd.DataFrame({"x": range(5), "y": range(5)}), "y", "at least 10 are needed"),
])
def test_unusable_data_is_refused_and_changes_nothing(ws, frame, target, message):
    run_prep(ws)
    before_outputs, before_raw = snapshot(ws.processed_dir), snapshot(ws.raw_dir)
    with pytest.raises(DataError, match=message):
        use_dataset(ws, frame, "bad.csv", target, "upload")
    assert snapshot(ws.processed_dir) == before_outputs
    assert snapshot(ws.raw_dir) == before_raw


@pytest.mark.parametrize("sizes, message", [
    ((0.5, 0.3, 0.3), "must sum to 1"),
    ((0.0, 0.5, 0.5), "between 0 and 1"),
    ((1.2, -0.1, -0.1), "between 0 and 1"),
])
def test_split_sizes_are_checked_before_anything_changes(ws, sizes, message):
    run_prep(ws)
    before = snapshot(ws.processed_dir)
    with pytest.raises(ParameterError, match=message):
        run_prep(ws, PrepParams(*sizes))
    assert snapshot(ws.processed_dir) == before


def test_choosing_a_text_target_is_refused_and_keeps_the_old_one(ws):
    df = pd.DataFrame({"x": range(30), "label": ["a", "b", "c"] * 10, "y": range(30)})
    save_dataset(ws, df, "three", "y", "upload")
    with pytest.raises(DataError, match="must be numeric"):
        choose_target(ws, "label")
    from lab.dataset import active_dataset

    assert active_dataset(ws).target == "y"


def test_rerun_replaces_outputs_and_a_failed_rerun_keeps_them(ws, monkeypatch):
    run_prep(ws, PrepParams(random_state=1))
    first = snapshot(ws.processed_dir)
    run_prep(ws, PrepParams(random_state=2))
    second = snapshot(ws.processed_dir)
    assert first != second

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("lab.processing.preprocess.write_outputs", boom)
    with pytest.raises(OSError):
        run_prep(ws, PrepParams(random_state=3))
    assert snapshot(ws.processed_dir) == second
    assert not [p for p in ws.processed_dir.parent.iterdir() if p.name.startswith(".")]


def test_dataset_on_disk_is_what_prep_reads(ws):
    run_prep(ws)
    from lab.dataset import active_dataset

    df = load_dataset(ws, active_dataset(ws))
    assert len(df) == 10_000


@pytest.mark.parametrize("rows, sizes, expected", [
    (1000, (0.7, 0.1, 0.2), (700, 100, 200)),
    (400, (0.7, 0.1, 0.2), (280, 40, 80)),
    (10_000, (0.8, 0.1, 0.1), (8000, 1000, 1000)),
    (123, (0.6, 0.2, 0.2), (73, 25, 25)),
])
def test_split_counts_do_not_suffer_from_float_noise(ws, rows, sizes, expected):
    from lab.dataset import generate_housing

    use_dataset(ws, generate_housing(rows), "small.csv", "PRICE", "upload")
    result = run_prep(ws, PrepParams(*sizes))
    assert tuple(result.rows.values()) == expected


def test_sizes_that_leave_a_split_empty_are_refused(ws):
    from lab.dataset import generate_housing

    with pytest.raises(ParameterError, match="leave the validation split empty"):
        use_dataset(ws, generate_housing(10), "tiny.csv", "PRICE", "upload",
                    PrepParams(0.6, 0.05, 0.35))
