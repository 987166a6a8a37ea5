"""The processing job: the preparation script run by the backend, then checked against
the in-process preparation of the same dataset and parameters, as the workshop does after
each way of processing.
"""

from __future__ import annotations

import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lab import jobs
from lab.dataset import active_dataset, load_dataset
from lab.errors import JobError
from lab.processing import open_processing, preprocess
from lab.processing._api import KIND, SHARDED_KIND, PrepParams, ProcessingRequest
from lab.processing._prep import compare_outputs, prepare_frame, read_meta
from lab.workspace import Workspace


def build_request(ws: Workspace, params: PrepParams | None = None,
                  instance_count: int = 1) -> ProcessingRequest:
    """The request for the active dataset; ParameterError for bad sizes or counts."""
    return ProcessingRequest(active_dataset(ws), params or PrepParams(),
                             int(instance_count)).validate()


def processing_job(settings: Any, params: PrepParams | None = None,
                   instance_count: int = 1) -> jobs.JobSpec:
    """The job (checked before it exists): run the script, then compare with in-process."""
    ws = Workspace(settings.workspace)
    request = build_request(ws, params, instance_count)
    engine = open_processing(settings)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        output_dir = ctx.dir / "output"
        ctx.progress(0.05, f"Running the processing script ({engine.label} backend)")
        # The in-process preparation it is compared with runs meanwhile (the script is a
        # process of its own, or runs on AWS), so the comparison costs no extra wait.
        with tempfile.TemporaryDirectory(dir=ws.root) as expected, \
                ThreadPoolExecutor(1, thread_name_prefix="lab-prep-compare") as pool:
            in_process = pool.submit(_prepare_in_process, ws, request, Path(expected))
            sharded = engine.run(ctx, request, request.dataset.path(ws), output_dir)
            meta = read_meta(output_dir)
            if meta is None:
                raise JobError("The processing job finished without writing its outputs.")
            ctx.progress(0.97, "Comparing with the in-process preparation")
            in_process.result()
            comparison = compare_outputs(Path(expected), output_dir,
                                         ordered=request.instance_count == 1)
        ctx.log(f"Outputs match the in-process preparation: {comparison.match}")
        out = {"output_dir": str(output_dir), "rows": meta["rows"],
               "match": comparison.match, "comparison": comparison.details,
               "backend": engine.backend, "instance_count": request.instance_count}
        if sharded:  # several instances: each one's shards and rows, the global statistics
            out["phase_seconds"] = sharded.pop("timings_s", {})
            out.update(sharded)
            check = sharded.get("check", {})
            ctx.log(f"Scaled train columns over all parts: largest |mean| "
                    f"{check.get('max_abs_mean', float('nan')):.2g}, largest |std - 1| "
                    f"{check.get('max_abs_std_error', float('nan')):.2g}")
        return out

    return jobs.JobSpec(KIND if request.instance_count == 1 else SHARDED_KIND,
                        request.to_json(), run)


def _prepare_in_process(ws: Workspace, request: ProcessingRequest, expected: Path) -> None:
    """Prepare the same dataset in memory (the workshop's local run) into `expected`."""
    splits, meta = prepare_frame(load_dataset(ws, request.dataset), request.dataset.target,
                                 request.params)
    preprocess.write_outputs(splits, meta, str(expected))


def job_matched(ws: Workspace) -> bool:
    """The step's done-check: a processing job completed and matched the in-process run."""
    return any(j.status == jobs.COMPLETED and (j.result or {}).get("match")
               for j in jobs.JobStore(ws).list(KIND))


# --- the steps as `python -m lab` runs them (prep, process, run-all) -----------------------

def run_all_prep(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """Prepare the active dataset in-process with `options["prep_params"]`."""
    from lab.processing._prep import run_prep

    ws = Workspace(settings.workspace)
    started = time.perf_counter()
    result = run_prep(ws, options.get("prep_params"))
    echo(f"prep: {result.rows} rows written to {ws.processed_dir}")
    return {"prep": result.to_json(),
            "timings_s": {"prep": round(time.perf_counter() - started, 4)}}


def sharded_matched(ws: Workspace) -> bool:
    """The sharded step's done-check: a job on several instances matched in-process."""
    return any(j.status == jobs.COMPLETED and (j.result or {}).get("match")
               for j in jobs.JobStore(ws).list(SHARDED_KIND))


def run_all_sharded(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """The processing job on `options["sharded_instances"]` (default 2) local instances."""
    return _run_all_job(settings, options, options.get("sharded_instances", 2),
                        "sharded_processing", echo)


def run_all_processing(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """The same preparation as a processing job, compared with the in-process one."""
    return _run_all_job(settings, options, options.get("instance_count", 1), "processing",
                        echo)


def _run_all_job(settings: Any, options: dict[str, Any], instances: int, key: str,
                 echo) -> dict[str, Any]:
    label = key.replace("_", " ")
    job = jobs.run(settings, processing_job(settings, options.get("prep_params"), instances),
                   echo)
    result = job.outcome(f"{label} job")
    echo(f"{label}: job {job.job_id} {job.status} on {result['instance_count']} instance(s), "
         f"outputs match in-process: {result['match']}")
    return {key: {"job_id": job.job_id, "status": job.status, **result},
            "timings_s": {key: round(job.duration_s, 4)}}


def code(settings: Any) -> list:
    """The functions that prepare the data on the settings' backend."""
    return open_processing(settings).code()


def sharded_code(settings: Any) -> list:
    """The functions of a job on several instances: the script's phases and combine steps,
    the driver, and how the settings' backend runs one phase on N instances."""
    from lab.processing._sharded import run_sharded

    return [preprocess.run_phase, preprocess.plan_from_profiles, preprocess.split_slots,
            preprocess.scaler_from_statistics, run_sharded,
            type(open_processing(settings)).run_phase]
