"""The tuning capability's interface (`Tuning`) and what a tuning job searches, checked
before anything runs (SageMaker's vocabulary).

    ranges      IntegerParameter / ContinuousParameter / CategoricalParameter per hyperparameter
    objective   a metric definition's name ("mse" or "r2") and its direction
    budget      max_jobs in all, at most max_parallel_jobs at a time
    strategy    Bayesian (default), Random or Grid

The workshop's tuning job is `build_tuning_spec()`: max_depth 6-10 and n_estimators 80-130,
mse minimised, 4 jobs, 2 in parallel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lab.errors import ParameterError
from lab.training import (
    DEFAULT_ALGORITHM,
    DEFAULT_EXPERIMENT,
    TrainingData,
    TrainingRequest,
    algorithm,
    build_request,
)
from lab.training.cli_args import split_pair

KIND = "tuning"  # the job kind

INTEGER, CONTINUOUS, CATEGORICAL = "Integer", "Continuous", "Categorical"
STRATEGIES = ("Bayesian", "Random", "Grid")
OBJECTIVES = {"mse": "Minimize", "r2": "Maximize"}  # the metric definitions' names
DIRECTIONS = ("Minimize", "Maximize")
SCALINGS = ("Auto", "Linear", "Logarithmic")
MAX_JOBS_LIMIT = 100  # a lab limit: each local job is a real training run
GRID_LIMIT = 100


@dataclass(frozen=True)
class ParameterRange:
    name: str
    kind: str = INTEGER
    min_value: float | None = None
    max_value: float | None = None
    values: tuple = ()
    scaling: str = "Auto"

    def grid_values(self) -> list:
        if self.kind == CATEGORICAL:
            return list(self.values)
        if self.kind == INTEGER:
            return list(range(int(self.min_value), int(self.max_value) + 1))
        raise ParameterError(f"Grid search cannot enumerate the continuous range of "
                             f"{self.name}: use an Integer or Categorical range, or the "
                             "Bayesian or Random strategy.")

    def to_json(self) -> dict[str, Any]:
        if self.kind == CATEGORICAL:
            return {"name": self.name, "kind": self.kind, "values": list(self.values)}
        return {"name": self.name, "kind": self.kind, "min_value": self.min_value,
                "max_value": self.max_value, "scaling": self.scaling}


@dataclass(frozen=True)
class TuningSpec:
    algorithm: str
    ranges: tuple[ParameterRange, ...]
    static: dict[str, Any] = field(default_factory=dict)  # hyperparameters not tuned
    objective: str = "mse"
    direction: str = "Minimize"
    max_jobs: int = 4
    max_parallel_jobs: int = 2
    strategy: str = "Bayesian"
    experiment: str = DEFAULT_EXPERIMENT
    seed: int = 42

    @property
    def total_jobs(self) -> int:
        """Grid runs every combination (SageMaker sets max_jobs itself); others max_jobs."""
        if self.strategy == "Grid":
            return math.prod(len(r.grid_values()) for r in self.ranges)
        return self.max_jobs

    @property
    def parallel(self) -> int:
        return min(self.max_parallel_jobs, self.total_jobs)

    def request_for(self, values: dict[str, Any]) -> TrainingRequest:
        return build_request(self.algorithm, {**self.static, **values}, self.experiment)

    def to_json(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm, "ranges": [r.to_json() for r in self.ranges],
                "static": dict(self.static), "objective": self.objective,
                "direction": self.direction, "max_jobs": self.max_jobs,
                "max_parallel_jobs": self.max_parallel_jobs, "strategy": self.strategy,
                "experiment": self.experiment, "total_jobs": self.total_jobs}


def workshop_ranges() -> list[ParameterRange]:
    return [ParameterRange("max_depth", INTEGER, 6, 10),
            ParameterRange("n_estimators", INTEGER, 80, 130)]


def _whole(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ParameterError(f"{what} must be a whole number (got {value!r}).")
    return int(value)


def _range(algo, item: ParameterRange | dict) -> ParameterRange:
    r = item if isinstance(item, ParameterRange) else ParameterRange(**item)
    hp = algo.param(r.name)
    if not hp.tunable:
        raise ParameterError(f"{r.name} changes speed, not the model: set it, do not tune it.")
    if r.kind not in (INTEGER, CONTINUOUS, CATEGORICAL):
        raise ParameterError(f"The range of {r.name} must be Integer, Continuous or "
                             f"Categorical (got {r.kind!r}).")
    if r.kind == CATEGORICAL:
        values = tuple(hp.check(v) for v in r.values)
        if not values or len(set(values)) != len(values):
            raise ParameterError(f"The categorical range of {r.name} needs distinct values.")
        return ParameterRange(r.name, CATEGORICAL, values=values)
    if r.kind == CONTINUOUS and hp.kind is int:
        raise ParameterError(f"{r.name} takes whole numbers: give it an Integer range.")
    if r.kind == INTEGER and hp.kind is not int:
        raise ParameterError(f"{r.name} takes any number in its range: give it a Continuous "
                             "range.")
    if r.min_value is None or r.max_value is None:
        raise ParameterError(f"The range of {r.name} needs a minimum and a maximum.")
    low, high = hp.check(r.min_value), hp.check(r.max_value)
    if low > high or (r.kind == CONTINUOUS and low == high):
        raise ParameterError(f"The range of {r.name} has its minimum ({low:g}) above "
                             f"its maximum ({high:g}): swap them.")
    if r.scaling not in SCALINGS:
        raise ParameterError(f"Scaling must be one of {', '.join(SCALINGS)}.")
    if r.scaling == "Logarithmic" and low <= 0:
        raise ParameterError(f"Logarithmic scaling of {r.name} needs a minimum above 0.")
    return ParameterRange(r.name, r.kind, low, high, scaling=r.scaling)


def build_tuning_spec(algorithm_key: str = DEFAULT_ALGORITHM,
                      ranges: list[ParameterRange | dict] | None = None,
                      static: dict[str, Any] | None = None, objective: str = "mse",
                      direction: str | None = None, max_jobs: int = 4,
                      max_parallel_jobs: int = 2, strategy: str = "Bayesian",
                      experiment: str = DEFAULT_EXPERIMENT) -> TuningSpec:
    """A checked spec; ParameterError (saying what to change) for anything invalid."""
    algo = algorithm(algorithm_key)
    checked = tuple(_range(algo, r) for r in (workshop_ranges() if ranges is None else ranges))
    if not checked:
        raise ParameterError("Give at least one hyperparameter range to tune.")
    names = [r.name for r in checked]
    if len(set(names)) != len(names):
        raise ParameterError("Each hyperparameter can have one range only.")
    fixed = {k: v for k, v in (static or {}).items() if k not in names}
    build_request(algo.key, fixed, experiment)  # checks the fixed values and the name
    max_jobs = _whole(max_jobs, "max_jobs")
    max_parallel_jobs = _whole(max_parallel_jobs, "max_parallel_jobs")
    if not 1 <= max_jobs <= MAX_JOBS_LIMIT:
        raise ParameterError(f"max_jobs must be between 1 and {MAX_JOBS_LIMIT} (got "
                             f"{max_jobs}).")
    if max_parallel_jobs < 1:
        raise ParameterError(f"max_parallel_jobs must be at least 1 (got {max_parallel_jobs}).")
    if max_parallel_jobs > max_jobs:
        raise ParameterError(f"max_parallel_jobs ({max_parallel_jobs}) cannot be above "
                             f"max_jobs ({max_jobs}).")
    if strategy not in STRATEGIES:
        raise ParameterError(f"Unknown strategy {strategy!r}: choose one of "
                             f"{', '.join(STRATEGIES)}.")
    if objective not in OBJECTIVES:
        raise ParameterError(f"The objective must be a metric definition: one of "
                             f"{', '.join(OBJECTIVES)} (got {objective!r}).")
    direction = direction or OBJECTIVES[objective]
    if direction not in DIRECTIONS:
        raise ParameterError(f"The direction must be Minimize or Maximize (got {direction!r}).")
    spec = TuningSpec(algo.key, checked, fixed, objective, direction, max_jobs,
                      max_parallel_jobs, strategy, experiment)
    if strategy == "Grid" and spec.total_jobs > GRID_LIMIT:
        raise ParameterError(f"This grid has {spec.total_jobs} combinations (more than "
                             f"{GRID_LIMIT}): narrow the ranges or use Bayesian or Random.")
    return spec


def ranges_from_form(algorithm_key: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ranges of the page's form: one row per tunable hyperparameter with `tune`
    (ticked), `low`, `high` and `values` (text: "6, 8, 10" makes the range categorical)."""
    algo, ranges = algorithm(algorithm_key), []
    for row in rows:
        if not row.get("tune"):
            continue
        hp = algo.param(row["name"])
        listed = str(row.get("values") or "").strip()
        if listed:
            ranges.append({"name": hp.name, "kind": CATEGORICAL,
                           "values": tuple(v.strip() for v in listed.split(",") if v.strip())})
        else:
            ranges.append({"name": hp.name, "kind": INTEGER if hp.kind is int else CONTINUOUS,
                           "min_value": row.get("low"), "max_value": row.get("high")})
    return ranges


def parse_ranges(algorithm_key: str, items: list[str] | None) -> list[dict[str, Any]] | None:
    """["max_depth=6:10", "eta=0.05:0.3:log", "max_depth=4,6,8"] -> range dicts for
    build_tuning_spec; None (the workshop's ranges) when no item is given."""
    if not items:
        return None
    algo = algorithm(algorithm_key)
    ranges = []
    for item in items:
        name, value = split_pair(item, "--range")
        if ":" in value:
            parts = value.split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in ("log", "lin")):
                raise ParameterError(f"--range {name} takes MIN:MAX or MIN:MAX:log (got "
                                     f"{value!r}).")
            kind = INTEGER if algo.param(name).kind is int else CONTINUOUS
            try:
                low, high = float(parts[0]), float(parts[1])
            except ValueError:
                raise ParameterError(f"--range {name}: {value!r} is not MIN:MAX.") from None
            scaling = {"log": "Logarithmic", "lin": "Linear"}.get(
                parts[2] if len(parts) == 3 else "", "Auto")
            ranges.append({"name": name, "kind": kind, "min_value": low, "max_value": high,
                           "scaling": scaling})
        else:
            ranges.append({"name": name, "kind": CATEGORICAL,
                           "values": tuple(v.strip() for v in value.split(",") if v.strip())})
    return ranges


class Tuning(Protocol):
    """Runs the trials of one tuning job: each a training run of the spec's algorithm,
    recorded in the experiments as it ends (linked to the tuning job, best one marked)."""

    backend: str

    def run(self, ctx: Any, spec: TuningSpec, data: TrainingData,
            channels: dict[str, Path]) -> None: ...

    def prefetch(self) -> None:
        """Import now what `run` will need (called in a thread while something else runs)."""
