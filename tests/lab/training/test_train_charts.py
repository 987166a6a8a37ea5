"""Figures and tables hold the numbers of the runs they are built from (figure JSON)."""

from __future__ import annotations

import json

from lab.training import charts
from lab.training.experiments import Run


def make_run(run_id="r1", trial=None, params=None, mse=100.0, best=False, status="Completed",
             algorithm="xgboost"):
    return Run(run_id=run_id, experiment="exp", name=run_id, status=status, algorithm=algorithm,
               params=params or {"max_depth": 5, "n_estimators": 3}, created=1000.0,
               ended=1003.0, metrics={"mse": mse * 0.9, "rmse": (mse * 0.9) ** 0.5, "r2": 0.97,
                                      "mae": 7.5},
               validation={"mse": mse, "r2": 0.95},
               curve={"step": [1, 2, 3], "train-rmse": [30.5, 20.25, 10.125],
                      "validation-rmse": [31.5, 22.75, 12.5]},
               importance={"SQUARE_FEET": 3.0, "YEAR_BUILT": 1.0}, trial=trial, best=best,
               tuning_job="tj" if trial else None)


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def test_learning_curves_overlay_each_runs_curve():
    runs = [make_run("a"), make_run("b", algorithm="random_forest")]
    data = spec(charts.learning_curves(runs))["data"]
    assert len(data) == 4
    assert data[0]["y"] == [31.5, 22.75, 12.5] and data[1]["y"] == [30.5, 20.25, 10.125]
    assert data[0]["x"] == [1, 2, 3] and data[1]["line"]["dash"] == "dot"
    assert "validation" in data[0]["name"] and "train" in data[1]["name"]
    layout = spec(charts.learning_curves(runs))["layout"]
    assert layout["xaxis"]["title"]["text"] == "boosting round / number of trees"


def test_predicted_vs_actual_and_residuals_hold_the_predictions():
    run = make_run()
    predictions = {"actual": [100.0, 200.0, 300.0], "predicted": [110.0, 190.0, 330.0]}
    pva = spec(charts.predicted_vs_actual(run, predictions))["data"]
    assert pva[0]["x"] == [100.0, 200.0, 300.0] and pva[0]["y"] == [110.0, 190.0, 330.0]
    assert pva[1]["x"] == [100.0, 330.0]  # the diagonal spans all values
    res = spec(charts.residuals(run, predictions))["data"]
    assert res[0]["y"] == [-10.0, 10.0, -30.0] and res[0]["x"] == [110.0, 190.0, 330.0]


def test_feature_importance_as_shares():
    data = spec(charts.feature_importance(make_run()))["data"][0]
    assert data["y"] == ["YEAR_BUILT", "SQUARE_FEET"] and data["x"] == [0.25, 0.75]


def test_comparison_flags_only_what_differs():
    runs = [make_run("a", params={"max_depth": 5, "eta": 0.1}, mse=100.0),
            make_run("b", params={"max_depth": 7, "eta": 0.1}, mse=200.0)]
    rows = {(r["section"], r["name"]): r for r in charts.comparison_rows(runs)}
    labels = [charts.run_label(r) for r in runs]
    assert rows[("parameter", "max_depth")]["differs"] is True
    assert [rows[("parameter", "max_depth")][label] for label in labels] == ["5", "7"]
    assert rows[("parameter", "eta")]["differs"] is False
    assert rows[("run", "algorithm")]["differs"] is False
    assert rows[("validation metric", "mse")][labels[1]] == "200"
    assert rows[("test metric", "mse")]["differs"] is True


def test_trials_table_sorted_by_objective_with_failures_last():
    trials = [make_run("t1", trial=1, mse=300.0), make_run("t2", trial=2, mse=100.0, best=True),
              make_run("t3", trial=3, status="Failed"), make_run("t4", trial=4, mse=200.0)]
    trials[2].validation = {}
    trials[2].failure = "boom"
    rows = charts.trials_table(trials, "mse", "Minimize")
    assert [r["trial"] for r in rows] == [2, 4, 1, 3]
    assert rows[0]["best"] == "★" and rows[0]["mse"] == 100.0 and rows[0]["max_depth"] == 5
    assert rows[-1]["failure"] == "boom"
    assert [r["trial"] for r in charts.trials_table(trials, "mse", "Maximize")][:3] == [1, 4, 2]


def test_objective_over_trials_and_best_so_far():
    trials = [make_run("t1", trial=1, mse=300.0), make_run("t2", trial=2, mse=100.0),
              make_run("t3", trial=3, mse=200.0)]
    data = spec(charts.objective_over_trials(trials, "mse", "Minimize"))["data"]
    assert data[0]["x"] == [1, 2, 3] and data[0]["y"] == [300.0, 100.0, 200.0]
    assert data[1]["y"] == [300.0, 100.0, 100.0]


def test_parallel_coordinates_has_one_axis_per_tuned_parameter_and_the_objective():
    trials = [make_run("t1", trial=1, mse=300.0, params={"max_depth": 6, "n_estimators": 80}),
              make_run("t2", trial=2, mse=100.0, params={"max_depth": 9, "n_estimators": 120})]
    dims = spec(charts.parallel_coordinates(trials, ["max_depth", "n_estimators"], "mse"))[
        "data"][0]["dimensions"]
    assert [d["label"] for d in dims] == ["max_depth", "n_estimators", "mse"]
    assert dims[0]["values"] == [6, 9] and dims[2]["values"] == [300.0, 100.0]
    cat = [make_run("t1", trial=1, params={"booster": "b"}), make_run("t2", trial=2,
                                                                       params={"booster": "a"})]
    dim = spec(charts.parallel_coordinates(cat, ["booster"], "mse"))["data"][0]["dimensions"][0]
    assert dim["ticktext"] == ["a", "b"] and dim["values"] == [1, 0]
