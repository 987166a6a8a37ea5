"""The local training engine: the entry point in a subprocess, SageMaker's way.

The worker lays out what a SageMaker training container sees (channels and a model
directory, named by SM_CHANNEL_* and SM_MODEL_DIR), runs `entry_point.py` as a script in a
process of its own (started warm by `worker.py`, or cold with `python entry_point.py`),
streams its log, and reads the metrics out of the log with the workshop's metric
definitions.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lab import jobs
from lab.errors import JobError
from lab.training import entry_point, worker
from lab.training._api import Finish, TrainingRequest
from lab.twins import Twin

ENTRY_POINT = Path(entry_point.__file__).resolve()
CURVE = re.compile(r"^\[(\d+)\]\ttrain-rmse:(\S+)\tvalidation-rmse:(\S+)$")
METRIC_DEFINITIONS = entry_point.METRIC_DEFINITIONS
_METRICS = [(d["Name"], re.compile(d["Regex"])) for d in METRIC_DEFINITIONS]


def extract_metrics(lines: Iterable[str]) -> dict[str, float]:
    """The metric definitions applied to a log: the last match of each wins, as on SageMaker."""
    found: dict[str, float] = {}
    for line in lines:
        for name, regex in _METRICS:
            match = regex.search(line)
            if match:
                try:
                    found[name] = float(match.group(1))
                except ValueError:
                    pass  # SageMaker skips values it cannot read as numbers, too
    return found


def _child_env(channels: dict[str, Path], model_dir: Path,
               request: TrainingRequest) -> dict[str, str]:
    """SageMaker's script-mode variables; no AWS secrets (the script needs none)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))}
    env.update({f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()})
    env.update({"SM_MODEL_DIR": str(model_dir), "SM_CHANNELS": json.dumps(sorted(channels)),
                "SM_HPS": json.dumps(request.sagemaker_hyperparameters())})
    env.pop("PYTHONPATH", None)  # proves the script is self-contained, as in a container
    return env


class LocalTraining(Twin):
    """Runs the entry point as a training job would, on this machine."""

    note = ("Runs the same script in a process of its own on this machine (started warm by "
            "the lab's worker), with SageMaker's channel and model folders.")

    def train(self, ctx: jobs.JobContext, request: TrainingRequest, channels: dict[str, Path],
              model_dir: Path, finish: Finish) -> Any:
        model_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-u", str(ENTRY_POINT), *request.script_arguments()]
        ctx.log("$ python entry_point.py " + " ".join(cmd[3:]))
        total = max(1, int(request.hyperparameters.get("n_estimators", 1)))
        errors: list[str] = []
        lines: list[str] = []

        def on_line(line: str) -> None:
            lines.append(line)
            if line.startswith("ERROR: "):
                errors.append(line[len("ERROR: "):])
            curve = CURVE.match(line)
            if curve and (int(curve.group(1)) % 10 == 0 or int(curve.group(1)) == total):
                step = int(curve.group(1))
                ctx.progress(0.15 + 0.7 * step / total,
                             f"Training: step {step} of {total}, validation RMSE "
                             f"{float(curve.group(3)):,.0f}")

        env = _child_env(channels, model_dir, request)
        if worker.warm_available():
            def log_line(line: str) -> None:
                ctx.log(line)
                on_line(line)

            code = worker.run_script(cmd[2:], env, model_dir.parent / "script-output.txt",
                                     log_line, lambda: ctx.cancelled)
            ctx.check_cancelled()
        else:
            code = ctx.run_subprocess(cmd, env=env, on_line=on_line)
        if code != 0:
            raise JobError(f"The training script failed: {errors[-1]}" if errors
                           else f"The training script exited with code {code}.")
        metrics = extract_metrics(lines)
        if "mse" not in metrics:
            raise JobError("The training script printed no `MSE:` line, so the metric "
                           "definitions found no objective.")
        return finish(metrics)

    def code(self) -> list:
        return [entry_point.main, entry_point.train_xgboost, entry_point.train_forest,
                entry_point.regression_metrics]
