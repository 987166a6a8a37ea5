"""Scale curves for `python -m lab bench`: how the cost of each step grows with the data.

At each size (10 thousand, 100 thousand and, in the full run, 1 million generated rows of
the workshop's housing schema) a scratch workspace runs: the in-process preparation, the
processing job (its script in a process of its own, the in-process comparison beside it:
what a learner waits for), the ingest of the prepared splits into the feature store
(offline + online), one aggregate query on the offline store, and the default XGBoost
training job. One sample per point: the curve's shape is the figure, not a point's noise.

The largest size the lab accepts is bounded by its own limits, not by memory on 24 GiB:
`bounds()` says which limit holds for each way data gets in.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

QUICK_SIZES = (10_000, 100_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)


def own_peak_mb() -> float:
    """This process's peak memory (VmHWM), in MB. Not getrusage's ru_maxrss: Linux keeps
    across exec the larger of it and the parent's memory at the fork, so a bench started by
    the app (a Streamlit server of 300 MB and more) reported the server's size."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: kB


def bounds() -> list[str]:
    """The limits that bound the size of the data the lab takes, by way of getting it in."""
    from lab.dataset import MAX_UPLOAD_BYTES, generate_housing
    from lab.scaling import MAX_ROWS

    sample = generate_housing(10_000).to_csv(index=False).encode()
    rows_at_limit = int(MAX_UPLOAD_BYTES / (len(sample) / 10_000))
    return [f"an uploaded CSV up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB (about "
            f"{rows_at_limit:,} rows of the housing schema)",
            f"the speed-up page's generated data up to {MAX_ROWS:,} rows"]


def _one_size(rows: int, root: Path, log: Callable[[str], None]) -> list[dict[str, Any]]:
    from lab import jobs
    from lab.dataset import generate_housing, save_dataset
    from lab.featurestore import LocalFeatureStore, ingest_prepared
    from lab.processing import processing_job, run_prep
    from lab.settings import Settings
    from lab.training import training_job
    from lab.workspace import Workspace

    settings = Settings(workspace=root)
    save_dataset(Workspace(root), generate_housing(rows), f"generated-{rows}", "PRICE",
                 "generated")
    points = []

    def point(what: str, seconds: float) -> None:
        points.append({"what": what, "rows": rows, "seconds": round(seconds, 4),
                       "peak_rss_mb": round(own_peak_mb(), 1)})
        log(f"bench: scale {what} at {rows:,} rows: {seconds:.3f} s")

    point("prep", run_prep(Workspace(root)).seconds)  # in-process: the data ingest reads
    job = jobs.run(settings, processing_job(settings))
    if job.status != "Completed":
        raise RuntimeError(f"the processing job failed at {rows:,} rows: {job.error}")
    point("processing", job.duration_s)
    store = LocalFeatureStore(settings)
    try:
        started = time.perf_counter()
        groups = ingest_prepared(settings, store=store).groups
        point("ingest", time.perf_counter() - started)
        result = store.query(f'SELECT COUNT(*) AS n, AVG("PRICE") AS price '
                             f'FROM "{groups["train"]}"')
        point("query", result.seconds)
    finally:
        store.close()
    job = jobs.run(settings, training_job(settings))
    if job.status != "Completed":
        raise RuntimeError(f"training failed at {rows:,} rows: {job.error}")
    point("training", job.duration_s)
    return points


def scale_curves(quick: bool = False, log: Callable[[str], None] = print,
                 sizes: tuple[int, ...] | None = None) -> dict[str, Any]:
    """{"points": [{"what", "rows", "seconds", "peak_rss_mb"}], "sizes", "bounds"}."""
    sizes = sizes or (QUICK_SIZES if quick else FULL_SIZES)
    points: list[dict[str, Any]] = []
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix=f"lab-bench-scale-{rows}-") as tmp:
            points += _one_size(rows, Path(tmp), log)
    return {"points": points, "sizes": list(sizes), "bounds": bounds()}
