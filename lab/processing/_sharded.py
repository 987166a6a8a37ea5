"""A processing job on several instances, the same on every backend.

The input is written as N shard files (one per instance) and each instance receives its
own (ShardedByS3Key). The script then runs three phases on every instance (`preprocess.py
--phase profile|statistics|transform`, see its "Sharded processing" section), and this
module is the small combine step between them: it reads every instance's partial results,
makes the plan the next phase needs (the schema, each shard's offset, then the scaler of
the whole train split) and, at the end, writes meta/prep.json and the job's report (each
instance's shards and rows, the global statistics, and a check of the scaled output).

What differs between backends is how one phase runs on N instances (`RunPhase`): local
worker processes (`LocalProcessing`) or one SageMaker processing job with
`instance_count=N` (`SageMakerProcessing`).
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lab.errors import DataError, JobError, ParameterError
from lab.processing import preprocess
from lab.processing._api import SPLITS, ProcessingRequest

# (ctx, request, phase, shard files, plan folder or None, folder the outputs go into)
RunPhase = Callable[[Any, ProcessingRequest, str, list[Path], "Path | None", Path], None]


def hosts(count: int) -> list[str]:
    """SageMaker's names for a job's instances: algo-1, algo-2, ..."""
    return [f"algo-{i + 1}" for i in range(count)]


def shard_name(index: int, count: int) -> str:
    return f"shard-{index + 1:05d}-of-{count:05d}.csv"


def write_shards(csv_path: Path, count: int, folder: Path) -> list[Path]:
    """The dataset as `count` CSV files of consecutive rows, each with the header (how a
    large dataset is stored anyway: a single file would go whole to one instance). Records
    are copied as the csv module reads them, so no value is re-formatted."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        rows = sum(1 for _ in reader)
    if header is None:
        raise DataError("The dataset is empty: there is nothing to shard.")
    per_shard = max(1, math.ceil(rows / count))
    paths = [folder / shard_name(i, count) for i in range(count)]
    with open(csv_path, newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for path in paths:
            with open(path, "w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(header)
                for _, record in zip(range(per_shard), reader):
                    writer.writerow(record)
    return paths


def sharded_by_s3_key(names: list[str], instances: list[str]) -> dict[str, list[str]]:
    """Which instance gets which object: SageMaker splits the objects under the prefix
    between the instances (it does not say in which order; the lab deals them round robin,
    by key). Never one object to two instances."""
    out: dict[str, list[str]] = {h: [] for h in instances}
    for i, name in enumerate(sorted(names)):
        out[instances[i % len(instances)]].append(name)
    return out


def merge_outputs(outputs: dict[str, Path], into: Path) -> dict[str, str]:
    """Each instance's output folder uploaded into one destination, as SageMaker uploads
    every instance's /opt/ml/processing/output/<name> under the same S3 prefix. On S3 a
    key written by two instances silently keeps the last upload; here it is an error, so a
    script that does that cannot pass. Returns each file's writer, by relative path."""
    writers: dict[str, str] = {}
    for host, folder in outputs.items():
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
            rel = str(path.relative_to(folder))
            if rel in writers:
                raise JobError(f"The instances {writers[rel]} and {host} both wrote {rel}: "
                               "on S3 the last upload would silently replace the first. Each "
                               "instance must write files of its own.")
            writers[rel] = host
            target = into / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            path.replace(target)
    return writers


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _combine(fn, *args):
    try:
        return fn(*args)
    except preprocess.BadData as exc:
        raise DataError(str(exc)) from None
    except preprocess.BadParameter as exc:
        raise ParameterError(str(exc)) from None


def run_sharded(ctx: Any, request: ProcessingRequest, input_csv: Path, output_dir: Path,
                run_phase: RunPhase) -> dict[str, Any]:
    """The three phases on `request.instance_count` instances, combined; the outputs in
    `output_dir` (train/, validation/, test/ with one part per instance, meta/prep.json)."""
    count, params = request.instance_count, request.params
    work = ctx.dir / "sharded"
    ctx.progress(0.05, f"Writing the input as {count} shards")
    started = time.perf_counter()
    shards = write_shards(Path(input_csv), count, work / "shards")
    timings = {"shard": time.perf_counter() - started}
    ctx.log(f"Input: {count} shards of {Path(input_csv).name}: "
            + ", ".join(p.name for p in shards))

    def phase(name: str, plan_dir: Path | None, into: Path) -> None:
        started = time.perf_counter()
        run_phase(ctx, request, name, shards, plan_dir, into)
        timings[name] = time.perf_counter() - started
        ctx.log(f"Phase {name}: {timings[name]:.2f} s on {count} instances")

    ctx.progress(0.1, f"Phase 1 of 3 on {count} instances: profile each shard")
    phase("profile", None, work / "profile")
    profiles = [_read_json(p) for p in sorted((work / "profile" / "profile").glob("*.json"))]
    plan = _combine(preprocess.plan_from_profiles, profiles, request.dataset.target,
                    params.train_size, params.val_size, params.test_size, params.random_state)
    ctx.log(f"Combine: {plan['rows']:,} rows with a target; split "
            + ", ".join(f"{n:,} {s}" for s, n in plan["counts"].items()))
    slots = preprocess.split_slots(plan)
    plan_file = _write_plan(work / "plan-statistics", plan, slots)

    ctx.progress(0.4, f"Phase 2 of 3 on {count} instances: statistics of the train rows")
    phase("statistics", plan_file.parent, work / "statistics")
    folder = work / "statistics" / "statistics"
    partials = [_read_json(p) for p in sorted(folder.glob("*.json"))]
    values = [{c: pd.read_csv(p)[c].dropna().to_numpy(float) for c in plan["fill"]}
              for p in sorted(folder.glob("*-values.csv"))]
    plan = _combine(preprocess.scaler_from_statistics, plan, partials, values)
    ctx.log(f"Combine: the scaler of the {plan['counts']['train']:,} train rows from "
            f"{len(partials)} instance(s)")
    plan_file = _write_plan(work / "plan-transform", plan, slots)

    ctx.progress(0.7, f"Phase 3 of 3 on {count} instances: split, fill and scale")
    phase("transform", plan_file.parent, output_dir)
    meta = preprocess.meta_from_plan(plan)
    (output_dir / "meta").mkdir(parents=True, exist_ok=True)
    (output_dir / "meta" / "prep.json").write_text(json.dumps(meta, indent=2))
    out = report(plan, profiles, partials, output_dir)
    out["timings_s"] = {k: round(v, 4) for k, v in timings.items()}
    return out


def _write_plan(folder: Path, plan: dict[str, Any], slots: dict[str, np.ndarray]) -> Path:
    """The plan folder every instance receives: plan.json and each shard's split slots."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in slots.items():
        np.save(folder / preprocess.slots_file(name), array)
    path = folder / preprocess.PLAN_FILE
    path.write_text(json.dumps(plan))
    return path


def report(plan: dict[str, Any], profiles: list[dict], partials: list[dict],
           output_dir: Path) -> dict[str, Any]:
    """Each instance's shards and rows, the scaler's global statistics, the output parts
    and a check computed from them (what `process --instance-count N --json` prints)."""
    by_host = {p["host"]: p for p in partials}
    instances = []
    for profile in sorted(profiles, key=lambda p: p["host"]):
        shards = profile["shards"]
        split_rows = {s: sum(r[s] for r in by_host.get(profile["host"], {}).get(
            "rows", {}).values()) for s in SPLITS}
        moments = by_host.get(profile["host"], {}).get("moments", {})
        instances.append({"host": profile["host"], "shards": sorted(shards),
                          "rows": sum(s["rows"] for s in shards.values()),
                          "kept": sum(s["kept"] for s in shards.values()), **split_rows,
                          # what a scaler fit on this instance's rows alone would centre on
                          "train_means": {c: m[1] for c, m in moments.items()
                                          if c != plan["target"] and m[0]}})
    scaler = plan["scaler"]
    statistics = {"train_rows": plan["counts"]["train"], "columns": {
        col: {"mean": mean, "std": scale}
        for col, mean, scale in zip(scaler["columns"], scaler["mean"], scaler["scale"])
        if col != plan["target"]}}
    return {"instances": instances, "statistics": statistics,
            "parts": {s: sorted(p.name for p in (output_dir / s).glob("*.csv")) for s in SPLITS},
            "check": check_scaled(output_dir)}


def check_scaled(output_dir: Path) -> dict[str, Any]:
    """The output read back, whatever made it: rows per split, and the largest |mean| and
    |std - 1| of the scaled train columns (0 and 0 when the scaler is global; constant
    columns, scaled by 1, are left out)."""
    from lab.processing._prep import load_prepared

    frames = load_prepared(output_dir) or {}
    if not frames:
        return {}
    train = frames["train"].iloc[:, 1:].to_numpy(float)
    std = train.std(axis=0)
    varying = std > 1e-12
    return {"rows": {s: len(f) for s, f in frames.items()},
            "max_abs_mean": float(np.abs(train.mean(axis=0))[varying].max(initial=0.0)),
            "max_abs_std_error": float(np.abs(std[varying] - 1).max(initial=0.0))}
