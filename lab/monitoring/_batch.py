"""Batches to compare with the baseline, and the changes that make one drift.

    changes = parse_changes(shift=["LOT_ACRES=1"], missing=["DECK=0.2"])
    frame = apply_changes(split_frame(settings, "test"), baseline, changes)
    drifted_dataset(settings, changes)      # the active dataset, drifted, as a new dataset
                                            # (the pipeline's InputData for its gate)

A shift is in the baseline's standard deviations of that feature (so +1 moves it by one
typical spread, whatever its unit); a scale multiplies the values (a unit change); missing
removes a share of the values at random (seeded: the same batch every time).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from lab.errors import ParameterError
from lab.monitoring._api import Baseline, Changes
from lab.monitoring._errors import BatchError

MAX_SHIFT = 10.0  # standard deviations
MAX_SCALE = 1000.0
MAX_UPLOAD_ROWS = 100_000


def _pairs(items: list[str] | None, option: str) -> dict[str, float]:
    out = {}
    for item in items or []:
        name, sep, value = str(item).partition("=")
        try:
            number = float(value)
        except ValueError:
            number = float("nan")
        if not sep or not name.strip() or not math.isfinite(number):
            raise ParameterError(f"{option} takes FEATURE=NUMBER (got {item!r}), for example "
                                 f"{option} LOT_ACRES=1.")
        out[name.strip()] = number
    return out


def parse_changes(shift: list[str] | None = None, scale: list[str] | None = None,
                  missing: list[str] | None = None, seed: int = 0) -> Changes:
    """`--shift F=STDDEVS`, `--scale F=FACTOR`, `--missing F=FRACTION` as Changes."""
    return Changes(_pairs(shift, "--shift"), _pairs(scale, "--scale"),
                   _pairs(missing, "--missing"), seed)


def check_changes(changes: Changes, features: list[str]) -> Changes:
    """The changes, refused with the reason when they name an unknown feature or go out of
    range (nothing is computed before that)."""
    unknown = sorted(changes.features - set(features))
    if unknown:
        raise BatchError(f"No feature named {', '.join(unknown)}: the baseline's features are "
                         f"{', '.join(features)}.")
    for name, value in changes.shift.items():
        if not (math.isfinite(value) and abs(value) <= MAX_SHIFT):
            raise ParameterError(f"Shift {name} by -{MAX_SHIFT:g} to {MAX_SHIFT:g} standard "
                                 f"deviations (got {value:g}).")
    for name, value in changes.scale.items():
        if not (math.isfinite(value) and 0 < value <= MAX_SCALE):
            raise ParameterError(f"Scale {name} by a factor above 0 and at most "
                                 f"{MAX_SCALE:g} (got {value:g}).")
    for name, value in changes.missing.items():
        if not (math.isfinite(value) and 0 <= value <= 1):
            raise ParameterError(f"The share of missing {name} values is a fraction from 0 "
                                 f"to 1 (got {value:g}).")
    return changes


def apply_changes(frame: pd.DataFrame, baseline: Baseline, changes: Changes) -> pd.DataFrame:
    """A copy of `frame` with the changes applied (features in the data's units)."""
    check_changes(changes, list(frame.columns))
    out = frame.copy()
    for name, stddevs in changes.shift.items():
        out[name] = out[name].astype(float) + stddevs * baseline.numbers(name)["std_dev"]
    for name, factor in changes.scale.items():
        out[name] = out[name].astype(float) * factor
    rng = np.random.default_rng(changes.seed)
    for name, share in changes.missing.items():
        chosen = rng.random(len(out)) < share
        out[name] = out[name].astype(float).where(~chosen)
    return out


def read_upload(data: bytes, label: str, baseline: Baseline) -> pd.DataFrame:
    """An uploaded batch (CSV with a header, in the data's units): its baseline features.
    A missing feature column stays missing (the report counts it as a violation)."""
    from lab.dataset import read_csv_bytes

    frame = read_csv_bytes(data, label)
    if len(frame) > MAX_UPLOAD_ROWS:
        raise BatchError(f"{label} has {len(frame):,} rows; compare at most "
                         f"{MAX_UPLOAD_ROWS:,} at a time.")
    found = [f for f in baseline.features if f in frame.columns]
    if not found:
        raise BatchError(f"{label} has none of the baseline's features "
                         f"({', '.join(baseline.features)}): upload rows with those columns.")
    return frame[found]


def drifted_dataset(settings: Any, changes: Changes, name: str | None = None) -> Any:
    """The active dataset with the changes applied, stored as a new dataset (not made
    active): what the gated pipeline reads as InputData to see its check fail."""
    from lab.dataset import active_dataset, load_dataset, save_dataset
    from lab.monitoring._baseline import read_baseline
    from lab.workspace import Workspace

    if changes.empty:
        raise BatchError("Ask for at least one change (a shift, a scale or missing values): "
                         "the dataset as it is already exists.")
    baseline = read_baseline(settings)
    ws = Workspace(settings.workspace)
    info = active_dataset(ws)
    raw = load_dataset(ws, info)
    unknown = sorted(changes.features - set(raw.columns))
    if unknown:
        raise BatchError(f"{', '.join(unknown)} is not a column of {info.name} (a one-hot "
                         "column exists only after the preparation): change a column of "
                         "the dataset.")
    changed = apply_changes(raw[[c for c in baseline.features if c in raw.columns]],
                            baseline, changes)
    out = raw.copy()
    for column in changed.columns:
        out[column] = changed[column]
    return save_dataset(ws, out, name or f"{info.name}-drifted", info.target, "drifted",
                        activate=False)
