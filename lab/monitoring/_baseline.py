"""The training data's baseline: statistics.json and constraints.json in the workspace.

A baseline describes the prepared training split in the data's own units (the preparation
scales the features; the baseline puts them back, so a learner reads years and square
feet, and a shift is in those units). It keeps the preparation's scaler, which turns an
endpoint's (scaled) requests back into those units too. Made from what the workspace's
preparation wrote (`data/processed/`); remade whenever the learner asks.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

from lab.errors import ParameterError
from lab.monitoring import drift
from lab.monitoring._api import Baseline
from lab.monitoring._errors import BaselineMissingError
from lab.workspace import Workspace, read_json, write_json_atomic

FILES = ("statistics.json", "constraints.json")
INFO = "baseline.json"


def baseline_dir(settings: Any) -> Path:
    return Workspace(settings.workspace).path("monitoring", "baseline")


def prepared(settings: Any) -> tuple[dict[str, Any], Path]:
    """(prep.json, processed folder) of the workspace; BaselineMissingError without them."""
    from lab.processing import read_meta

    ws = Workspace(settings.workspace)
    meta = read_meta(ws.processed_dir)
    if meta is None:
        raise BaselineMissingError("There is no prepared data yet: prepare the data (Prepare "
                                   "the data page, or `python -m lab prep`) first.")
    return meta, ws.processed_dir


def split_frame(settings: Any, split: str = "test"):
    """A prepared split's features, in the data's own units."""
    from lab.processing import SPLITS

    if split not in SPLITS:
        raise ParameterError(f"Unknown split {split!r}: use one of {', '.join(SPLITS)}.")
    meta, folder = prepared(settings)
    try:
        return drift.read_split(str(folder / split), meta)
    except drift.BadInput as exc:
        raise BaselineMissingError(f"The prepared {split} split cannot be read ({exc}): "
                                   "prepare the data again.") from None


def _check_threshold(name: str, value: float, low: float, high: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number (got {value!r}).") from None
    if not low < value <= high:
        raise ParameterError(f"{name} must be above {low:g} and at most {high:g} (got "
                             f"{value:g}).")
    return value


def make_baseline(settings: Any, psi_threshold: float = drift.PSI_THRESHOLD,
                  ks_threshold: float = drift.KS_THRESHOLD) -> Baseline:
    """The baseline of the prepared training split, written to monitoring/baseline/
    (the previous one replaced only once the new one is complete)."""
    psi_threshold = _check_threshold("The PSI threshold", psi_threshold, 0, 10)
    ks_threshold = _check_threshold("The KS threshold", ks_threshold, 0, 1)
    meta, _ = prepared(settings)
    frame = split_frame(settings, "train")
    stats = drift.statistics(frame)
    rules = drift.constraints(stats, drift.completeness_of(meta), psi_threshold,
                              ks_threshold)
    info = {"dataset": meta.get("dataset", ""), "split": "train", "rows": len(frame),
            "features": list(frame.columns), "target": meta.get("target"),
            "made": time.time(), "scaler": meta.get("scaler")}
    ws = Workspace(settings.workspace)
    target = baseline_dir(settings)
    with ws.replace_dir(target) as staging:
        for name, data in zip(FILES, (stats, rules)):
            (staging / name).write_text(json.dumps(data, indent=1))
        write_json_atomic(staging / INFO, info)
    return read_baseline(settings)


def find_baseline(settings: Any) -> Baseline | None:
    folder = baseline_dir(settings)
    if not all((folder / f).is_file() for f in FILES):
        return None
    try:
        stats, rules = (json.loads((folder / f).read_text()) for f in FILES)
    except (OSError, ValueError):
        return None
    return Baseline(folder, stats, rules, read_json(folder / INFO, default={}) or {})


def read_baseline(settings: Any) -> Baseline:
    found = find_baseline(settings)
    if found is None:
        raise BaselineMissingError("There is no baseline yet: make one from the training "
                                   "data on the Baseline & drift page (or `python -m lab "
                                   "drift --baseline`).")
    return found


def baseline_digest(folder: Path) -> str:
    """sha256 of the baseline's two files (a pipeline step's cache key sees its content)."""
    digest = hashlib.sha256()
    for name in FILES:
        digest.update((Path(folder) / name).read_bytes())
    return digest.hexdigest()


def baseline_files(settings: Any, baseline: Baseline) -> tuple[str, dict[str, Path]]:
    """(S3 key prefix, {key: file}) of the baseline in the workspace's S3 folder, under a
    hash of its content (a remade baseline is a new prefix: a pipeline cache miss)."""
    from lab.aws.names import s3_prefix

    prefix = f"{s3_prefix(settings)}/monitoring/baseline/{baseline_digest(baseline.folder)[:12]}"
    return prefix, {f"{prefix}/{name}": baseline.folder / name for name in FILES}


def baseline_done(ws: Workspace) -> bool:
    """The step's done-check (a file test)."""
    return all(ws.path("monitoring", "baseline", f).is_file() for f in FILES)
