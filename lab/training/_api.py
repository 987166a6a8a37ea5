"""The training capability's interface (`Training`) and its request type.

The algorithms the lab trains and their hyperparameters are checked here, before anything
runs.

Both algorithms take the workshop's hyperparameters (`max_depth`, `n_estimators`, `n_jobs`)
plus one or two of their own. Every value is checked against its bounds here, in the lab,
so a bad value gets a message saying what to change instead of a failed job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lab.errors import ParameterError

XGBOOST, FOREST = "xgboost", "random_forest"
DEFAULT_ALGORITHM = XGBOOST
DEFAULT_EXPERIMENT = "synthetic-housing-regression"  # the workshop's experiment name
_EXPERIMENT_NAME = re.compile(r"^[a-zA-Z0-9](-?[a-zA-Z0-9]){0,79}$")


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    kind: type  # int or float
    default: int | float
    low: int | float
    high: int | float
    help: str
    tunable: bool = True  # n_jobs changes speed, not the model: never tuned

    def check(self, value: Any) -> int | float:
        """`value` as this parameter's type, or a ParameterError saying what is allowed."""
        what = "a whole number" if self.kind is int else "a number"
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{self.name} must be {what} between {self.low:g} and "
                                 f"{self.high:g} (got {value!r}).") from None
        if isinstance(value, bool) or not math.isfinite(number) or (
                self.kind is int and not number.is_integer()):
            raise ParameterError(f"{self.name} must be {what} between {self.low:g} and "
                                 f"{self.high:g} (got {value!r}).")
        if not self.low <= number <= self.high:
            raise ParameterError(f"{self.name} must be between {self.low:g} and {self.high:g} "
                                 f"(got {number:g}): {self.help}.")
        return int(number) if self.kind is int else number


@dataclass(frozen=True)
class Algorithm:
    key: str
    label: str
    hyperparameters: tuple[Hyperparameter, ...]
    curve_axis: str  # what one step of the learning curve is

    def param(self, name: str) -> Hyperparameter:
        for hp in self.hyperparameters:
            if hp.name == name:
                return hp
        raise ParameterError(f"{self.label} has no hyperparameter {name!r}: use "
                             f"{', '.join(h.name for h in self.hyperparameters)}.")

    def defaults(self) -> dict[str, int | float]:
        return {hp.name: hp.default for hp in self.hyperparameters}

    def validate(self, values: dict[str, Any] | None) -> dict[str, int | float]:
        """All hyperparameters of this algorithm: defaults, overridden by checked `values`."""
        checked = self.defaults()
        for name, value in (values or {}).items():
            checked[name] = self.param(name).check(value)
        return checked


_DEPTH_HELP = "the depth of each tree; deeper trees fit finer detail and overfit sooner"
_THREADS_HELP = "threads used to train; one is fastest for data this small"

ALGORITHMS: dict[str, Algorithm] = {
    XGBOOST: Algorithm(XGBOOST, "XGBoost (gradient-boosted trees)", (
        Hyperparameter("max_depth", int, 5, 1, 20, _DEPTH_HELP),
        Hyperparameter("n_estimators", int, 200, 1, 2000,
                       "the number of boosting rounds (trees added one after another)"),
        Hyperparameter("eta", float, 0.1, 0.001, 1.0,
                       "the learning rate: how much each new tree corrects the previous ones"),
        Hyperparameter("subsample", float, 1.0, 0.1, 1.0,
                       "the share of training rows each tree sees"),
        Hyperparameter("n_jobs", int, 1, 1, 64, _THREADS_HELP, tunable=False),
    ), "boosting round"),
    FOREST: Algorithm(FOREST, "Random forest (scikit-learn, the workshop's script)", (
        Hyperparameter("max_depth", int, 8, 1, 50, _DEPTH_HELP),
        Hyperparameter("n_estimators", int, 80, 1, 1000,
                       "the number of trees, trained independently and averaged"),
        Hyperparameter("max_features", float, 1.0, 0.05, 1.0,
                       "the share of features each split may consider"),
        Hyperparameter("n_jobs", int, 1, 1, 64, _THREADS_HELP, tunable=False),
    ), "number of trees"),
}


def algorithm(key: str) -> Algorithm:
    if key not in ALGORITHMS:
        raise ParameterError(f"Unknown algorithm {key!r}: choose one of "
                             f"{', '.join(ALGORITHMS)}.")
    return ALGORITHMS[key]


MAX_INSTANCES = 8  # training instances (local: worker processes) for one run


@dataclass(frozen=True)
class TrainingRequest:
    """One training run: the algorithm, all its hyperparameters, the experiment it joins,
    and on how many instances it trains (several: XGBoost's distributed training)."""

    algorithm: str
    hyperparameters: dict[str, int | float]
    experiment: str = DEFAULT_EXPERIMENT
    instance_count: int = 1

    def script_arguments(self) -> list[str]:
        """The entry point's arguments, as strings (as SageMaker passes hyperparameters)."""
        args = ["--algorithm", self.algorithm]
        for name, value in self.hyperparameters.items():
            args += [f"--{name}", str(value)]
        return args

    def sagemaker_hyperparameters(self) -> dict[str, str]:
        return {"algorithm": self.algorithm,
                **{k: str(v) for k, v in self.hyperparameters.items()}}

    def to_json(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "hyperparameters": dict(self.hyperparameters),
                "experiment": self.experiment, "instance_count": self.instance_count}


def build_request(algorithm_key: str = DEFAULT_ALGORITHM,
                  hyperparameters: dict[str, Any] | None = None,
                  experiment: str = DEFAULT_EXPERIMENT,
                  instance_count: Any = 1) -> TrainingRequest:
    """A checked request; ParameterError (saying what to change) for anything invalid."""
    algo = algorithm(algorithm_key)
    if not isinstance(experiment, str) or not _EXPERIMENT_NAME.match(experiment):
        raise ParameterError(f"The experiment name {experiment!r} is not valid: use 1-80 "
                             "letters, digits and single hyphens (SageMaker's rule).")
    count = Hyperparameter("instance count", int, 1, 1, MAX_INSTANCES,
                           "how many instances (workers) train the model together"
                           ).check(instance_count)
    if count > 1 and algo.key != XGBOOST:
        raise ParameterError(f"{algo.label} trains on one instance: scikit-learn has no "
                             "distributed training. Use XGBoost for several instances.")
    return TrainingRequest(algo.key, algo.validate(hyperparameters), experiment, count)


KIND = "training"  # the job kind
DISTRIBUTED_KIND = "training-distributed"  # the job kind on several instances (Scalable)
Finish = Callable[[dict[str, float]], Any]  # validation metrics -> the recorded run


class Training(Protocol):
    """Runs the entry point once as a training job would, leaving the model files in
    `model_dir`, then calls `finish(validation_metrics)` (which evaluates the model and
    records the run) and returns what it returned."""

    backend: str

    def train(self, ctx: Any, request: TrainingRequest, channels: dict[str, Path],
              model_dir: Path, finish: Finish) -> Any: ...
