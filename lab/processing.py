"""Processing jobs: the preparation script run as a job, then checked against in-process.

One interface, two engines, picked by the backend name:

    local       `python -m lab.preprocess` in a subprocess, with SageMaker's folder layout
                under the job folder (input/ holds the dataset, output/<split>/ the results)
    sagemaker   an SKLearnProcessor running the same script on SageMaker
                (`lab.sagemaker.processing`), its outputs downloaded into output/

Either way the job then compares its outputs with the in-process preparation of the same
dataset and parameters, as the workshop does after each way of processing.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from lab import jobs, preprocess
from lab.dataset import DatasetInfo, active_dataset
from lab.errors import JobError, ParameterError
from lab.prep import PrepParams, compare_outputs, prepare_frame, read_meta
from lab.settings import Settings
from lab.workspace import Workspace

KIND = "processing"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ProcessingRequest:
    dataset: DatasetInfo
    params: PrepParams
    instance_count: int = 1

    def validate(self) -> ProcessingRequest:
        self.params.validate()
        if not 1 <= self.instance_count <= 10:
            raise ParameterError("Instance count must be between 1 and 10.")
        return self

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset.name, "target": self.dataset.target,
                "instance_count": self.instance_count, **self.params.__dict__}


class ProcessingEngine(Protocol):
    def run(self, ctx: jobs.JobContext, request: ProcessingRequest, input_csv: Path,
            output_dir: Path) -> None: ...


class LocalProcessing:
    """The script in a subprocess: what SageMaker runs in its container, run here."""

    def run(self, ctx, request, input_csv, output_dir):
        if request.instance_count > 1:
            ctx.log(f"Local engine: running 1 instance (asked for {request.instance_count}); "
                    "with one input file ShardedByS3Key gives it to one instance anyway.")
        input_dir = ctx.dir / "input"
        input_dir.mkdir(exist_ok=True)
        shutil.copyfile(input_csv, input_dir / input_csv.name)
        cmd = [sys.executable, "-u", "-m", "lab.preprocess",
               "--input-dir", str(input_dir), "--output-dir", str(output_dir),
               *request.params.script_arguments(request.dataset.target)]
        ctx.log("$ python " + " ".join(cmd[2:]))
        env = {**_clean_env(), "PYTHONPATH": str(PROJECT_ROOT)}
        errors: list[str] = []

        def on_line(line: str) -> None:
            if line.startswith("ERROR: "):
                errors.append(line[len("ERROR: "):])
            for marker, fraction in _PROGRESS_MARKERS:
                if line.startswith(marker):
                    ctx.progress(fraction, line)

        code = ctx.run_subprocess(cmd, env=env, on_line=on_line)
        if code != 0:
            raise JobError(errors[-1] if errors else f"The processing script exited with {code}.")


_PROGRESS_MARKERS = [("Read ", 0.2), ("Train size", 0.4), ("Fitting scaling", 0.6),
                     ("Saving data", 0.8), ("Ending pre-processing", 0.95)]


def _clean_env() -> dict[str, str]:
    """The child's environment, without AWS secrets: the local script needs none."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))}


def engine_for(settings: Settings) -> ProcessingEngine:
    if settings.backend == "sagemaker":
        from lab.sagemaker.processing import SageMakerProcessing

        return SageMakerProcessing(settings)
    return LocalProcessing()


def processing_job(settings: Settings, request: ProcessingRequest) -> jobs.JobFn:
    """The job function: run the engine, then compare with the in-process preparation."""
    ws = Workspace(settings.workspace)
    engine = engine_for(settings)

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        output_dir = ctx.dir / "output"
        ctx.progress(0.05, f"Running the processing script on the {settings.backend} backend")
        engine.run(ctx, request, request.dataset.path(ws), output_dir)
        meta = read_meta(output_dir)
        if meta is None:
            raise JobError("The processing job finished without writing its outputs.")
        ctx.progress(0.97, "Comparing with the in-process preparation")
        comparison = _compare_with_in_process(ws, request, output_dir)
        ctx.log(f"Outputs match the in-process preparation: {comparison.match}")
        return {"output_dir": str(output_dir), "rows": meta["rows"],
                "match": comparison.match, "comparison": comparison.details,
                "backend": settings.backend}

    return run


def _compare_with_in_process(ws: Workspace, request: ProcessingRequest, output_dir: Path):
    """Prepare the same dataset in memory (the workshop's local run) and compare."""
    from lab.dataset import load_dataset

    splits, meta = prepare_frame(load_dataset(ws, request.dataset), request.dataset.target,
                                 request.params)
    with tempfile.TemporaryDirectory(dir=ws.root) as expected:
        preprocess.write_outputs(splits, meta, expected)
        return compare_outputs(Path(expected), output_dir)


def build_request(ws: Workspace, params: PrepParams | None = None,
                  instance_count: int = 1) -> ProcessingRequest:
    return ProcessingRequest(active_dataset(ws), params or PrepParams(), instance_count).validate()


def start_processing_job(settings: Settings, params: PrepParams | None = None,
                         instance_count: int = 1) -> str:
    """Start the job in the background (the page's way); returns the job id."""
    ws = Workspace(settings.workspace)
    request = build_request(ws, params, instance_count)
    return jobs.submit(ws, KIND, request.to_json(), processing_job(settings, request))


def run_processing_job(settings: Settings, params: PrepParams | None = None,
                       instance_count: int = 1, echo=None) -> jobs.Job:
    """Run the job to the end in this thread (the CLI's way)."""
    ws = Workspace(settings.workspace)
    request = build_request(ws, params, instance_count)
    return jobs.run_now(ws, KIND, request.to_json(), processing_job(settings, request), echo)
