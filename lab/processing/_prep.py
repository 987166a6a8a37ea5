"""Data preparation, in-process: the workshop's "Processing our dataset locally".

The split/scale code itself is in `preprocess.py`, the script the processing job runs;
this module runs it in the caller's process and writes the outputs to
`<workspace>/data/processed/`, replacing an earlier run's outputs only on success.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lab.dataset import DatasetInfo, active_dataset, load_dataset, save_dataset, set_active
from lab.errors import DataError, ParameterError
from lab.names import ADDED_BY_INGEST, feature_name_problems
from lab.processing import preprocess
from lab.processing._api import SPLITS, Comparison, PrepParams, PrepResult
from lab.workspace import Workspace, read_json


def prepare_frame(df: pd.DataFrame, target: str, params: PrepParams, log=None):
    """Split and scale `df` in memory; bad data or parameters raise a LabError.

    Also refused here, since every later step would fail on them: a True/False target,
    infinite values, and prepared columns the feature store cannot take as features."""
    params.validate()
    _check_values(df, target)
    try:
        splits, meta = preprocess.prepare(df, target, params.train_size, params.val_size,
                                          params.test_size, params.random_state,
                                          log=log or (lambda line: None))
    except preprocess.BadData as exc:
        raise DataError(str(exc)) from None
    except preprocess.BadParameter as exc:
        raise ParameterError(str(exc)) from None
    problems = feature_name_problems(meta["columns"], ADDED_BY_INGEST)
    if problems:
        hint = (" (one-hot encoding names a column <column>_<value>: rename the values, or "
                "drop the column)" if meta["cleaning"].get("one_hot") else "")
        raise DataError(f"This table cannot go into the feature store: {'; '.join(problems)}"
                        f"{hint}.")
    return splits, meta


def _check_values(df: pd.DataFrame, target: str) -> None:
    if target in df.columns:
        column = df[target]
        values = set(column.dropna().astype(str).str.lower().unique()[:3])
        if pd.api.types.is_bool_dtype(column) or (values and values <= {"true", "false"}):
            raise DataError(f"The target {target!r} holds True/False values: the lab's models "
                            "predict numbers (regression). Pick a numeric target, or write "
                            "it as 0 and 1.")
    for name in df.columns:
        column = df[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            infinite = np.isinf(column.to_numpy(dtype="float64", na_value=np.nan))
            if infinite.any():
                row = int(np.argmax(infinite)) + 2  # the header is line 1
                raise DataError(f"Column {str(name)!r} holds infinite values (first on line "
                                f"{row} of the CSV): replace them with numbers, or leave "
                                "those cells empty.")


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
    """Read prepared splits back with their column names (the CSVs have no header). A
    split written by several instances is one part file per instance, read in name order."""
    meta = read_meta(output_dir)
    if meta is None:
        return None
    out = {}
    for split in SPLITS:
        parts = sorted((Path(output_dir) / split).glob("*.csv"))
        frames = [pd.read_csv(p, header=None, names=meta["columns"]) for p in parts]
        out[split] = (pd.concat(frames, ignore_index=True) if frames
                      else pd.DataFrame(columns=meta["columns"]))
    return out


def last_result(ws: Workspace) -> PrepResult | None:
    meta = read_meta(ws.processed_dir)
    if meta is None:
        return None
    return PrepResult(dataset=meta.get("dataset", "?"), target=meta["target"],
                      features=meta["features"], rows=meta["rows"], cleaning=meta["cleaning"],
                      outputs={s: str(ws.processed_dir / s / f"{s}.csv") for s in SPLITS})


def compare_outputs(expected_dir: Path, actual_dir: Path, ordered: bool = True) -> Comparison:
    """The workshop's check that two runs of the preparation produced the same data.

    `ordered=False` (a job on several instances: each part file holds its instance's rows)
    compares the rows whatever their order, and numbers whatever their type (a shard with
    no missing target reads it as whole numbers, the whole file perhaps not)."""
    expected, actual = load_prepared(expected_dir), load_prepared(actual_dir)
    if expected is None or actual is None:
        missing = expected_dir if expected is None else actual_dir
        return Comparison(False, {"all": f"no prepared data in {missing}"})
    details = {}
    for split in SPLITS:
        left, right = expected[split], actual[split]
        if not ordered:
            left, right = (f.sort_values(list(f.columns), kind="stable").reset_index(drop=True)
                           for f in (left, right))
        try:
            pd.testing.assert_frame_equal(left, right, check_dtype=ordered)
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
