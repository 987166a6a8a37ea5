"""Data preparation, in-process: the workshop's "Processing our dataset locally".

The split/scale code itself is in `lab.preprocess`, the script the processing job runs;
this module runs it in the caller's process and writes the outputs to
`<workspace>/data/processed/`, replacing an earlier run's outputs only on success.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from lab import preprocess
from lab.dataset import DatasetInfo, active_dataset, load_dataset, save_dataset, set_active
from lab.errors import DataError, ParameterError
from lab.workspace import Workspace, read_json

SPLITS = preprocess.SPLITS


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
        if not isinstance(self.random_state, int) or self.random_state < 0:
            raise ParameterError(f"random_state must be a whole number >= 0 "
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


def prepare_frame(df: pd.DataFrame, target: str, params: PrepParams, log=None):
    """Split and scale `df` in memory; bad data or parameters raise a LabError."""
    params.validate()
    try:
        return preprocess.prepare(df, target, params.train_size, params.val_size,
                                  params.test_size, params.random_state,
                                  log=log or (lambda line: None))
    except preprocess.BadData as exc:
        raise DataError(str(exc)) from None
    except preprocess.BadParameter as exc:
        raise ParameterError(str(exc)) from None


def run_prep(ws: Workspace, params: PrepParams | None = None,
             dataset: DatasetInfo | None = None) -> PrepResult:
    """Prepare the active dataset in-process; outputs replace earlier ones only on success."""
    params = (params or PrepParams()).validate()
    dataset = dataset or active_dataset(ws)
    started = time.perf_counter()
    splits, meta = prepare_frame(load_dataset(ws, dataset), dataset.target, params)
    meta["dataset"] = dataset.name
    with ws.replace_dir(ws.processed_dir) as staging:
        preprocess.write_outputs(splits, meta, str(staging))
    return PrepResult(
        dataset=dataset.name, target=meta["target"], features=meta["features"],
        rows=meta["rows"], cleaning=meta["cleaning"],
        outputs={s: str(ws.processed_dir / s / f"{s}.csv") for s in SPLITS},
        seconds=time.perf_counter() - started,
    )


def read_meta(output_dir: Path) -> dict[str, Any] | None:
    return read_json(Path(output_dir) / "meta" / "prep.json")


def load_prepared(output_dir: Path) -> dict[str, pd.DataFrame] | None:
    """Read prepared splits back with their column names (the CSVs have no header)."""
    meta = read_meta(output_dir)
    if meta is None:
        return None
    return {s: pd.read_csv(Path(output_dir) / s / f"{s}.csv", header=None, names=meta["columns"])
            for s in SPLITS}


def last_result(ws: Workspace) -> PrepResult | None:
    meta = read_meta(ws.processed_dir)
    if meta is None:
        return None
    return PrepResult(dataset=meta.get("dataset", "?"), target=meta["target"],
                      features=meta["features"], rows=meta["rows"], cleaning=meta["cleaning"],
                      outputs={s: str(ws.processed_dir / s / f"{s}.csv") for s in SPLITS})


@dataclass
class Comparison:
    match: bool
    details: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def compare_outputs(expected_dir: Path, actual_dir: Path) -> Comparison:
    """The workshop's check that two runs of the preparation produced the same data."""
    expected, actual = load_prepared(expected_dir), load_prepared(actual_dir)
    if expected is None or actual is None:
        missing = expected_dir if expected is None else actual_dir
        return Comparison(False, {"all": f"no prepared data in {missing}"})
    details = {}
    for split in SPLITS:
        try:
            pd.testing.assert_frame_equal(expected[split], actual[split])
            details[split] = "identical"
        except AssertionError as exc:
            details[split] = str(exc).strip().splitlines()[0]
    return Comparison(all(v == "identical" for v in details.values()), details)


def use_dataset(ws: Workspace, df: pd.DataFrame, name: str, target: str, source: str,
                params: PrepParams | None = None) -> DatasetInfo:
    """Make `df` the active dataset, but only if it can be prepared with `params`.

    A table that would fail preparation is refused here, before anything is written, so
    the datasets and outputs already in the workspace stay as they were.
    """
    prepare_frame(df, target, params or PrepParams())
    return save_dataset(ws, df, name, target, source)


def choose_target(ws: Workspace, target: str, params: PrepParams | None = None) -> DatasetInfo:
    """Change the active dataset's target column, after checking it can be prepared."""
    info = active_dataset(ws)
    prepare_frame(load_dataset(ws, info), target, params or PrepParams())
    return set_active(ws, info.name, target)
