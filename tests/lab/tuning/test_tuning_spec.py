"""Tuning specs are checked before anything runs, with clear messages."""

from __future__ import annotations

import pytest

from lab.errors import ParameterError
from lab.tuning import ParameterRange, build_tuning_spec, workshop_ranges


def test_the_workshops_tuning_job_is_the_default():
    spec = build_tuning_spec()
    assert [r.to_json() for r in spec.ranges] == [r.to_json() for r in workshop_ranges()]
    assert (spec.objective, spec.direction, spec.max_jobs, spec.max_parallel_jobs,
            spec.strategy) == ("mse", "Minimize", 4, 2, "Bayesian")
    assert spec.total_jobs == 4 and spec.parallel == 2
    assert spec.to_json()["ranges"][0] == {"name": "max_depth", "kind": "Integer",
                                           "min_value": 6, "max_value": 10, "scaling": "Auto"}


@pytest.mark.parametrize("args, message", [
    ({"ranges": [{"name": "max_depth", "min_value": 10, "max_value": 6}]},
     "minimum (10) above its maximum (6)"),
    ({"ranges": [{"name": "max_depth", "min_value": -2, "max_value": 6}]},
     "max_depth must be between 1 and 20 (got -2)"),
    ({"max_jobs": 2, "max_parallel_jobs": 3}, "max_parallel_jobs (3) cannot be above max_jobs"),
    ({"max_jobs": 0, "max_parallel_jobs": 1}, "max_jobs must be between 1 and 100"),
    ({"max_parallel_jobs": 0}, "max_parallel_jobs must be at least 1"),
    ({"max_jobs": 2.5}, "max_jobs must be a whole number"),
    ({"algorithm_key": "svm"}, "Unknown algorithm 'svm'"),
    ({"strategy": "Hyperband"}, "Unknown strategy 'Hyperband'"),
    ({"objective": "accuracy"}, "must be a metric definition"),
    ({"direction": "Up"}, "Minimize or Maximize"),
    ({"ranges": []}, "at least one hyperparameter range"),
    ({"ranges": [{"name": "n_jobs", "min_value": 1, "max_value": 4}]}, "set it, do not tune"),
    ({"ranges": [{"name": "max_depth", "kind": "Continuous", "min_value": 2,
                  "max_value": 6}]}, "give it an Integer range"),
    ({"ranges": [{"name": "eta", "kind": "Integer", "min_value": 0.1, "max_value": 0.3}]},
     "give it a Continuous range"),
    ({"ranges": [{"name": "max_depth", "kind": "Categorical", "values": (4, 4)}]},
     "distinct values"),
    ({"ranges": [{"name": "max_depth", "kind": "Categorical", "values": (4, -1)}]},
     "max_depth must be between 1 and 20"),
    ({"strategy": "Grid", "ranges": [{"name": "eta", "kind": "Continuous", "min_value": 0.1,
                                      "max_value": 0.3}]}, "Grid search cannot enumerate"),
    ({"strategy": "Grid"}, "This grid has 255 combinations"),
    ({"ranges": [{"name": "eta", "kind": "Continuous", "min_value": 0.1, "max_value": 0.3,
                  "scaling": "Cubic"}]}, "Scaling must be one of"),
    ({"static": {"max_depth": 0}, "ranges": [{"name": "n_estimators", "min_value": 5,
                                                "max_value": 9}]}, "max_depth must be between"),
])
def test_invalid_tuning_specs_are_refused(args, message):
    with pytest.raises(ParameterError) as caught:
        build_tuning_spec(**args)
    assert message in str(caught.value)


def test_grid_runs_every_combination_and_categorical_ranges_are_kept():
    spec = build_tuning_spec(strategy="Grid", max_jobs=2, max_parallel_jobs=2, ranges=[
        ParameterRange("max_depth", "Integer", 3, 5),
        {"name": "eta", "kind": "Categorical", "values": ("0.1", 0.3)}])
    assert spec.total_jobs == 6 and spec.parallel == 2
    assert spec.ranges[1].values == (0.1, 0.3)
    request = spec.request_for({"max_depth": 4, "eta": 0.3})
    assert request.hyperparameters["max_depth"] == 4 and request.hyperparameters["eta"] == 0.3


def test_tuned_values_override_static_ones():
    spec = build_tuning_spec(static={"max_depth": 3, "n_estimators": 50, "eta": 0.2})
    assert "max_depth" not in spec.static and spec.static["eta"] == 0.2
    assert spec.request_for({"max_depth": 7, "n_estimators": 90}).hyperparameters["eta"] == 0.2


def test_command_line_range_spellings():
    from lab.tuning import parse_ranges

    assert parse_ranges("xgboost", None) is None
    ranges = parse_ranges("xgboost", ["max_depth=6:10", "eta=0.05:0.3:log", "subsample=0.5,1"])
    spec = build_tuning_spec(ranges=ranges)
    assert [(r.name, r.kind, r.scaling) for r in spec.ranges] == [
        ("max_depth", "Integer", "Auto"), ("eta", "Continuous", "Logarithmic"),
        ("subsample", "Categorical", "Auto")]
    assert spec.ranges[0].min_value == 6 and spec.ranges[2].values == (0.5, 1.0)
    for bad, message in ((["max_depth"], "NAME=VALUE"), (["max_depth=1:2:3"], "MIN:MAX"),
                         (["max_depth=a:b"], "is not MIN:MAX"), (["depth=1:2"], "no hyper")):
        with pytest.raises(ParameterError, match=message):
            parse_ranges("xgboost", bad)
    with pytest.raises(ParameterError, match="minimum \\(10\\) above"):
        build_tuning_spec(ranges=parse_ranges("xgboost", ["max_depth=10:6"]))
