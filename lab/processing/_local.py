"""The local twin of a processing job: the script in a subprocess, SageMaker's folders.

What SageMaker does in its container happens here in a child process: the dataset is
copied into `input/`, the script runs by its path (no PYTHONPATH: it must need nothing of
the lab, as in the container) with the job's arguments, and writes `output/<split>/`.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from lab.errors import JobError
from lab.processing import preprocess
from lab.processing._api import ProcessingRequest
from lab.twins import Twin

SCRIPT = Path(preprocess.__file__).resolve()
_PROGRESS_MARKERS = [("Read ", 0.2), ("Train size", 0.4), ("Fitting scaling", 0.6),
                     ("Saving data", 0.8), ("Ending pre-processing", 0.95)]


def child_env() -> dict[str, str]:
    """A script's environment: no AWS secrets (it needs none), no PYTHONPATH."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))
            and k != "PYTHONPATH"}


class LocalProcessing(Twin):
    """The processing script in a subprocess: what SageMaker runs in its container."""

    note = ("Runs the same script in a subprocess on this machine, with SageMaker's input "
            "and output folders; one instance, whatever the instance count.")

    def run(self, ctx: Any, request: ProcessingRequest, input_csv: Path,
            output_dir: Path) -> None:
        if request.instance_count > 1:
            ctx.log(f"Local engine: running 1 instance (asked for {request.instance_count}); "
                    "with one input file ShardedByS3Key gives it to one instance anyway.")
        input_dir = ctx.dir / "input"
        input_dir.mkdir(exist_ok=True)
        shutil.copyfile(input_csv, input_dir / Path(input_csv).name)
        cmd = [sys.executable, "-u", str(SCRIPT),
               "--input-dir", str(input_dir), "--output-dir", str(output_dir),
               *request.params.script_arguments(request.dataset.target)]
        ctx.log("$ python preprocess.py " + " ".join(cmd[3:]))
        errors: list[str] = []

        def on_line(line: str) -> None:
            if line.startswith("ERROR: "):
                errors.append(line[len("ERROR: "):])
            for marker, fraction in _PROGRESS_MARKERS:
                if line.startswith(marker):
                    ctx.progress(fraction, line)

        code = ctx.run_subprocess(cmd, env=child_env(), on_line=on_line)
        if code != 0:
            raise JobError(errors[-1] if errors else f"The processing script exited with {code}.")

    def code(self) -> list:
        return [preprocess.split_dataset, preprocess.scale_dataset]
