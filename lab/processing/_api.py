"""The processing capability's interface and result types.

    PrepParams          split sizes and seed, checked (the processing script's arguments)
    PrepResult          what a preparation wrote: rows per split, features, cleaning report
    Comparison          whether two preparations produced the same data, split by split
    ProcessingRequest   one processing job: dataset, parameters, instance count
    Processing          what the local and the SageMaker twins implement: `run`
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lab.dataset import DatasetInfo
from lab.errors import ParameterError
from lab.processing import preprocess

SPLITS = preprocess.SPLITS
KIND = "processing"  # the job kind
SHARDED_KIND = "processing-sharded"  # the job kind on several instances (the Scalable step)
MAX_INSTANCES = 10
MAX_SEED = 2**32 - 1  # what numpy and scikit-learn take as a seed


@dataclass(frozen=True)
class PrepParams:
    train_size: float = 0.6
    val_size: float = 0.2
    test_size: float = 0.2
    random_state: int = 42

    def validate(self) -> PrepParams:
        try:
            preprocess.check_sizes(self.train_size, self.val_size, self.test_size)
        except preprocess.BadParameter as exc:
            raise ParameterError(str(exc)) from None
        if not isinstance(self.random_state, int) or not 0 <= self.random_state <= MAX_SEED:
            raise ParameterError(f"random_state must be a whole number from 0 to {MAX_SEED:,} "
                                 f"(got {self.random_state!r}).")
        return self

    def script_arguments(self, target: str) -> list[str]:
        """The processing script's arguments, as strings (as SageMaker passes them)."""
        return ["--train_size", str(self.train_size), "--val_size", str(self.val_size),
                "--test_size", str(self.test_size), "--random_state", str(self.random_state),
                "--target_col", target]


@dataclass
class PrepResult:
    dataset: str
    target: str
    features: list[str]
    rows: dict[str, int]
    outputs: dict[str, str]
    cleaning: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "target": self.target, "features": self.features,
                "outputs": self.outputs, "dataset": self.dataset, "cleaning": self.cleaning}

    def cleaning_notes(self) -> list[str]:
        """What the cleaning did to the learner's data, in words (empty for clean data)."""
        cleaning, notes = self.cleaning, []
        if cleaning.get("dropped_missing_target"):
            notes.append(f"dropped {cleaning['dropped_missing_target']} rows with no target "
                         "value")
        for col, fill in cleaning.get("filled_with_median", {}).items():
            notes.append(f"filled {fill['count']} missing values of {col} with the train "
                         f"median ({fill['median']:g})")
        for col, values in cleaning.get("one_hot", {}).items():
            notes.append(f"one-hot encoded {col} ({len(values)} values)")
        for col, why in cleaning.get("ignored", {}).items():
            notes.append(f"ignored {col}: {why}")
        return notes


@dataclass
class Comparison:
    match: bool
    details: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ProcessingRequest:
    dataset: DatasetInfo
    params: PrepParams
    instance_count: int = 1

    def validate(self) -> ProcessingRequest:
        self.params.validate()
        if not 1 <= self.instance_count <= MAX_INSTANCES:
            raise ParameterError(f"Instance count must be between 1 and {MAX_INSTANCES}.")
        return self

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset.name, "target": self.dataset.target,
                "instance_count": self.instance_count, **self.params.__dict__}


class Processing(Protocol):
    """Runs the processing script on the request's dataset, leaving the script's outputs
    (train/, validation/, test/, meta/) in `output_dir`."""

    backend: str

    def run(self, ctx: Any, request: ProcessingRequest, input_csv: Path,
            output_dir: Path) -> None: ...
