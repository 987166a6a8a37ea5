"""Hyperparameters are checked before anything runs, with clear messages (tuning specs:
tests/lab/tuning/test_tuning_spec.py)."""

from __future__ import annotations

import pytest

from lab.errors import ParameterError
from lab.training import ALGORITHMS, build_request


def test_defaults_are_complete_and_passed_as_sagemaker_does():
    request = build_request()
    assert request.algorithm == "xgboost"
    assert request.hyperparameters == {"max_depth": 5, "n_estimators": 200, "eta": 0.1,
                                       "subsample": 1.0, "n_jobs": 1}
    args = request.script_arguments()
    assert args[:2] == ["--algorithm", "xgboost"]
    assert all(isinstance(a, str) for a in args) and "--n_estimators" in args
    forest = build_request("random_forest", {"max_depth": 8, "n_estimators": 80, "n_jobs": 2})
    assert forest.hyperparameters == {"max_depth": 8, "n_estimators": 80, "max_features": 1.0,
                                      "n_jobs": 2}


def test_numbers_from_forms_are_normalised():
    request = build_request("random_forest", {"max_depth": 8.0, "n_estimators": "80"})
    assert request.hyperparameters["max_depth"] == 8
    assert isinstance(request.hyperparameters["max_depth"], int)


@pytest.mark.parametrize("algorithm, params, message", [
    ("xgboost", {"max_depth": -1}, "max_depth must be between 1 and 20 (got -1)"),
    ("xgboost", {"max_depth": "-1"}, "max_depth must be between 1 and 20 (got -1)"),
    ("random_forest", {"n_estimators": 0}, "n_estimators must be between 1 and 1000"),
    ("xgboost", {"max_depth": 2.5}, "max_depth must be a whole number"),
    ("xgboost", {"eta": "fast"}, "eta must be a number"),
    ("xgboost", {"eta": None}, "eta must be a number"),
    ("xgboost", {"max_features": 0.5}, "has no hyperparameter 'max_features'"),
    ("lightgbm", {}, "Unknown algorithm 'lightgbm': choose one of xgboost, random_forest"),
])
def test_invalid_hyperparameters_say_what_to_change(algorithm, params, message):
    with pytest.raises(ParameterError) as caught:
        build_request(algorithm, params)
    assert message in str(caught.value)


def test_experiment_names_follow_sagemakers_rule():
    assert build_request(experiment="my-exp-2").experiment == "my-exp-2"
    with pytest.raises(ParameterError, match="experiment name"):
        build_request(experiment="bad name!")


def test_every_algorithm_has_the_workshops_hyperparameters():
    for algo in ALGORITHMS.values():
        names = {hp.name for hp in algo.hyperparameters}
        assert {"max_depth", "n_estimators", "n_jobs"} <= names


def test_command_line_spellings():
    from lab.training import parse_hyperparameters

    assert parse_hyperparameters(["max_depth=8", " eta = 0.05"]) == {"max_depth": "8",
                                                                     "eta": "0.05"}
    assert build_request("xgboost", parse_hyperparameters(["max_depth=8"])).hyperparameters[
        "max_depth"] == 8
