"""The scale job: one generated dataset, processed and trained with 1, 2, ... workers.

Each point runs the sharded processing job (`lab.processing.run_sharded`, three phases on
N worker processes, one worker too, so every point runs the same algorithm) and then XGBoost
on N workers reading the N part files the processing wrote: the shape a pipeline has when
its data outgrows one machine. Times are wall-clock seconds on this machine; writing the
input shards is left out (data that size is stored as many files anyway). The bulky files
of each point are removed once measured; the job keeps its numbers.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab import jobs
from lab.errors import ParameterError

KIND = "scale"
MIN_ROWS, MAX_ROWS = 1_000, 5_000_000
MAX_WORKERS = 8
MAX_POINTS = 4  # worker counts in one job
SEED = 42
MSE_TOLERANCE = 0.10  # the test MSEs of the points stay within 10% of the first one's


@dataclass(frozen=True)
class ScaleRequest:
    rows: int
    workers: tuple[int, ...]
    n_estimators: int = 50
    max_depth: int = 5

    def to_json(self) -> dict[str, Any]:
        return dict(asdict(self), workers=list(self.workers))


def parse_workers(text: Any) -> tuple[int, ...]:
    """`1,2,4` (or a list) as sorted distinct worker counts, checked."""
    items = text.split(",") if isinstance(text, str) else list(text or [])
    try:
        counts = sorted({int(str(item).strip()) for item in items if str(item).strip()})
    except ValueError:
        raise ParameterError(f"Workers must be whole numbers separated by commas, such as "
                             f"1,2,4 (got {text!r}).") from None
    if not counts or counts[0] < 1 or counts[-1] > MAX_WORKERS:
        raise ParameterError(f"Each worker count must be between 1 and {MAX_WORKERS} "
                             f"(got {text!r}).")
    if len(counts) > MAX_POINTS:
        raise ParameterError(f"At most {MAX_POINTS} worker counts in one measurement "
                             f"(got {len(counts)}).")
    return tuple(counts)


def build_scale_request(rows: Any, workers: Any, n_estimators: Any = 50,
                        max_depth: Any = 5) -> ScaleRequest:
    """A checked request; ParameterError saying what to change otherwise."""
    from lab.training import algorithm

    try:
        count = int(rows)
        if isinstance(rows, bool) or count != float(rows):
            raise ValueError
    except (TypeError, ValueError):
        raise ParameterError(f"Rows must be a whole number (got {rows!r}).") from None
    if not MIN_ROWS <= count <= MAX_ROWS:
        raise ParameterError(f"Rows must be between {MIN_ROWS:,} and {MAX_ROWS:,} (got "
                             f"{count:,}).")
    xgb = algorithm("xgboost")
    return ScaleRequest(count, parse_workers(workers),
                        int(xgb.param("n_estimators").check(n_estimators)),
                        int(xgb.param("max_depth").check(max_depth)))


class _Part:
    """One step of the scale job seen as a job of its own: its folder and its slice of the
    progress bar; logging, cancelling and subprocesses are the job's."""

    def __init__(self, ctx: jobs.JobContext, folder: Path, start: float, span: float) -> None:
        self._ctx, self.dir, self._start, self._span = ctx, folder, start, span
        folder.mkdir(parents=True, exist_ok=True)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)

    def progress(self, fraction: float, message: str) -> None:
        self._ctx.progress(self._start + self._span * max(0.0, min(1.0, fraction)), message)


def scale_job(settings: Any, rows: Any = 100_000, workers: Any = (1, 2),
              n_estimators: Any = 50, max_depth: Any = 5) -> jobs.JobSpec:
    """Measure processing and training time against workers (checked before it starts)."""
    request = build_scale_request(rows, workers, n_estimators, max_depth)
    local = settings.with_backend("local")  # this machine's cores, whatever the backend

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        from lab.dataset import DatasetInfo, generate_housing
        from lab.processing import PrepParams, ProcessingRequest, open_processing, run_sharded
        from lab.training import open_training

        ctx.progress(0.01, f"Generating {request.rows:,} rows")
        csv = ctx.dir / "data" / "houses.csv"
        csv.parent.mkdir(parents=True, exist_ok=True)
        frame = generate_housing(request.rows, seed=SEED)
        frame.to_csv(csv, index=False)
        info = DatasetInfo("scale-houses", "PRICE", request.rows, list(frame.columns),
                           "generated")
        del frame
        processing = open_processing(local)
        warm_up = getattr(open_training(local), "warm_up", None)
        if warm_up is not None:  # the first point should not pay for starting the workers
            warm_up(ctx.dir)
        __import__("sklearn.model_selection")  # nor the combine step's first import
        points = []
        share = 0.95 / len(request.workers)
        for i, count in enumerate(request.workers):
            ctx.check_cancelled()
            folder = ctx.dir / f"workers-{count}"
            ctx.log(f"== {count} worker(s)")
            part = _Part(ctx, folder / "processing", 0.03 + i * share, share / 2)
            started = time.perf_counter()
            report = run_sharded(part, ProcessingRequest(info, PrepParams(random_state=SEED),
                                                         count), csv, folder / "processed",
                                 processing.run_phase)
            processing_s = time.perf_counter() - started - report["timings_s"]["shard"]
            training = _train(ctx, local, request, count, folder,
                              _Part(ctx, folder / "training", 0.03 + (i + 0.5) * share,
                                    share / 2))
            points.append({"workers": count, "processing_s": round(processing_s, 3),
                           "training_s": round(training["seconds"], 3),
                           "phase_seconds": report["timings_s"], "rows": report["check"]["rows"],
                           "max_abs_mean": report["check"]["max_abs_mean"],
                           "max_abs_std_error": report["check"]["max_abs_std_error"],
                           "test_mse": training["test_mse"],
                           "train_rows_per_worker": training["train_rows_per_worker"]})
            ctx.log(f"{count} worker(s): processing {processing_s:.2f} s, training "
                    f"{training['seconds']:.2f} s, test MSE {training['test_mse']:,.0f}")
            shutil.rmtree(folder, ignore_errors=True)  # the numbers are kept, not the data
        shutil.rmtree(csv.parent, ignore_errors=True)
        ctx.progress(0.99, "Checking the results")
        return {"rows": request.rows, "workers": list(request.workers),
                "n_estimators": request.n_estimators, "max_depth": request.max_depth,
                "cores": os.cpu_count() or 1, "points": points, "checks": checks(points)}

    return jobs.JobSpec(KIND, request.to_json(), run)


def _train(ctx: jobs.JobContext, settings: Any, request: ScaleRequest, count: int,
           folder: Path, part: _Part) -> dict[str, Any]:
    """XGBoost on `count` workers, on the processing's parts; time and test MSE."""
    from lab.processing import load_prepared
    from lab.training import build_request, load_model, open_training

    processed = folder / "processed"
    channels = {name: processed / name for name in ("train", "validation", "meta")}
    train_request = build_request("xgboost", {"n_estimators": request.n_estimators,
                                              "max_depth": request.max_depth},
                                  instance_count=count)
    model_dir = folder / "training" / "model"
    started = time.perf_counter()
    open_training(settings).train(part, train_request, channels, model_dir, lambda m: m)
    seconds = time.perf_counter() - started
    model = load_model(model_dir)
    test = load_prepared(processed)["test"]
    predicted = model.predict(test[model.features].to_numpy(float))
    mse = float(((predicted - test[model.target].to_numpy(float)) ** 2).mean())
    workers = model.training.get("workers") or [{"train_rows": len(load_prepared(
        processed)["train"])}]
    return {"seconds": seconds, "test_mse": mse,
            "train_rows_per_worker": [w["train_rows"] for w in workers]}


def checks(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Is every point the same result, computed faster or not: the same rows per split, the
    global scaling, every row trained on, and close test MSEs."""
    first = points[0]
    same_rows = all(p["rows"] == first["rows"] for p in points)
    scaled = all(p["max_abs_mean"] < 1e-6 and p["max_abs_std_error"] < 1e-3 for p in points)
    all_rows = all(sum(p["train_rows_per_worker"]) == first["rows"]["train"] for p in points)
    spread = max(abs(p["test_mse"] - first["test_mse"]) / first["test_mse"] for p in points)
    return {"same_rows": same_rows, "scaled_globally": scaled, "trained_on_all_rows": all_rows,
            "mse_spread": spread, "mse_close": spread <= MSE_TOLERANCE,
            "ok": same_rows and scaled and all_rows and spread <= MSE_TOLERANCE}


def latest_scale(settings: Any) -> jobs.Job | None:
    """The newest scale job of the workspace (what the page shows after a reload)."""
    return jobs.latest(settings, KIND)


def run_all_step(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """The smallest measurement (1,000 rows, 1 and 2 workers, its checks): what run-all and
    "run the whole lab" do, quickly; a learner sizes a real one on the page or with
    `python -m lab scale`."""
    job = jobs.run(settings, scale_job(settings, MIN_ROWS, (1, 2), 10), echo)
    result = job.outcome("scale job")
    echo("scale: " + "; ".join(f"{p['workers']} worker(s) {p['processing_s']:.2f} s + "
                                f"{p['training_s']:.2f} s" for p in result["points"])
         + f"; checks {'ok' if result['checks']['ok'] else 'FAILED'}")
    return {"scale": result, "timings_s": {"scale": round(job.duration_s, 4)}}
