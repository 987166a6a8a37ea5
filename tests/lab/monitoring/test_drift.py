"""Baseline and drift: Model Monitor's files, PSI and KS per feature, the drift CLI, and
the bad inputs it refuses (with nothing written)."""

from __future__ import annotations

import json

import pytest

from lab.monitoring import (
    BaselineMissingError,
    drift_report,
    drifted_dataset,
    make_baseline,
    parse_changes,
    read_baseline,
)
from lab.monitoring import drift as stats
from tests.cli import run_cli
from tests.workspaces import snapshot

FEATURES = ["YEAR_BUILT", "SQUARE_FEET", "NUM_BEDROOMS", "NUM_BATHROOMS", "LOT_ACRES",
            "GARAGE_SPACES", "FRONT_PORCH", "DECK"]


def test_the_test_split_shows_no_drift_and_a_one_std_shift_flags_that_feature_alone(prepared):
    """The issue's first "done when", through the command a learner types."""
    done = run_cli("drift", "--json", ws=prepared.workspace)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert set(found) == {"drift"} and list(found["drift"]) == FEATURES
    assert not any(f["drifted"] for f in found["drift"].values()), found
    assert all(set(f) == {"psi", "ks", "drifted"} for f in found["drift"].values())
    for feature in FEATURES:  # each one, shifted alone, is the only one flagged
        shifted = drift_report(prepared, parse_changes(shift=[f"{feature}=1"]))
        assert shifted.drifted == [feature], (feature, shifted.table())
    done = run_cli("drift", "--shift", "LOT_ACRES=1", "--json", ws=prepared.workspace)
    lot = json.loads(done.stdout)["drift"]["LOT_ACRES"]
    assert lot["drifted"] and lot["psi"] > 0.2 and lot["ks"] > 0.3


def test_the_baseline_is_written_in_model_monitors_formats(prepared):
    baseline = make_baseline(prepared)
    folder = prepared.workspace / "monitoring" / "baseline"
    statistics = json.loads((folder / "statistics.json").read_text())
    constraints = json.loads((folder / "constraints.json").read_text())
    assert statistics["dataset"] == {"item_count": 6000}
    first = statistics["features"][0]
    assert first["name"] == "YEAR_BUILT" and first["inferred_type"] == "Integral"
    numbers = first["numerical_statistics"]
    assert numbers["common"] == {"num_present": 6000, "num_missing": 0}
    assert 1990 < numbers["mean"] < 2000 and 9 < numbers["std_dev"] < 11  # the data's units
    kll = numbers["distribution"]["kll"]
    assert len(kll["buckets"]) == 10 and sum(b["count"] for b in kll["buckets"]) == 6000
    assert len(kll["sketch"]["data"][0]) == stats.SKETCH_K
    assert {f["name"]: f["completeness"] for f in constraints["features"]} == dict.fromkeys(
        FEATURES, 1.0)
    config = constraints["monitoring_config"]["distribution_constraints"]
    assert config["comparison_threshold"] == 0.1 and config["psi_threshold"] == 0.2
    assert baseline.quantiles("SQUARE_FEET")[0] < baseline.numbers("SQUARE_FEET")["mean"]
    assert baseline.info["scaler"]["columns"][0] == "PRICE"  # to read scaled requests back


def test_missing_values_count_through_psi_and_the_completeness_constraint(prepared):
    report = drift_report(prepared, parse_changes(missing=["DECK=0.2"]))
    deck = report.features["DECK"]
    assert report.drifted == ["DECK"] and deck["psi"] > 0.2 and deck["ks"] < 0.1
    assert abs(deck["completeness"] - 0.8) < 0.05
    checks = {v["constraint_check_type"] for v in report.violations}
    assert checks == {"completeness_check", "baseline_drift_check"}


def test_a_batch_under_the_minimum_is_shown_and_not_judged(prepared):
    baseline = make_baseline(prepared)
    frame = stats.read_split(str(prepared.workspace / "data" / "processed" / "test"),
                             json.loads((prepared.workspace / "data" / "processed" / "meta" /
                                         "prep.json").read_text()))
    shifted = frame.head(50).copy()
    shifted["LOT_ACRES"] += 10 * baseline.numbers("LOT_ACRES")["std_dev"]
    report = stats.compare(baseline.statistics, baseline.constraints, shifted)
    assert not report["judged"] and report["drifted"] == []
    assert report["features"]["LOT_ACRES"]["psi"] > 1  # the numbers are still there


@pytest.mark.parametrize("args, message", [
    (["--shift", "NOPE=1"], "No feature named NOPE"),
    (["--shift", "LOT_ACRES=x"], "--shift takes FEATURE=NUMBER"),
    (["--shift", "LOT_ACRES=40"], "standard deviations"),
    (["--missing", "DECK=1.5"], "fraction from 0 to 1"),
    (["--scale", "DECK=0"], "factor above 0"),
    (["--split", "holdout"], "Unknown split"),
])
def test_bad_changes_are_refused_with_the_fix_and_nothing_is_written(prepared, args, message):
    make_baseline(prepared)
    before = snapshot(prepared.workspace)
    done = run_cli("drift", *args, "--save-dataset", "mine", "--json", ws=prepared.workspace)
    assert done.returncode == 2 and message in done.stderr and done.stdout == ""
    assert snapshot(prepared.workspace) == before


def test_without_prepared_data_the_baseline_says_what_to_do_first(ws):
    from lab.settings import Settings

    with pytest.raises(BaselineMissingError, match="prepare the data"):
        make_baseline(Settings(workspace=ws.root))
    with pytest.raises(BaselineMissingError, match="make one"):
        read_baseline(Settings(workspace=ws.root))


def test_a_drifted_dataset_is_stored_beside_the_active_one(prepared):
    from lab.dataset import active_dataset, load_dataset
    from lab.workspace import Workspace

    make_baseline(prepared)
    ws = Workspace(prepared.workspace)
    active = active_dataset(ws)
    info = drifted_dataset(prepared, parse_changes(shift=["SQUARE_FEET=2"]))
    assert info.name == f"{active.name}-drifted" and active_dataset(ws).name == active.name
    before, after = load_dataset(ws, active), load_dataset(ws, info)
    moved = (after["SQUARE_FEET"] - before["SQUARE_FEET"]).round(6).unique()
    assert len(moved) == 1 and 1400 < moved[0] < 1600  # two of its standard deviations
    assert after["PRICE"].equals(before["PRICE"])
