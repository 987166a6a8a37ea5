"""The local training engine: the entry point in a subprocess, SageMaker's way.

The worker lays out what a SageMaker training container sees (channels and a model
directory, named by SM_CHANNEL_* and SM_MODEL_DIR), runs `entry_point.py` as a script in a
process of its own (started warm by `lab/warm.py`, or cold with `python entry_point.py`),
streams its log, and reads the metrics out of the log with the workshop's metric
definitions.

With several instances (XGBoost), N worker processes play the N instances at once: each
one gets its own channel folders holding the shards ShardedByS3Key would give it, its own
model folder, and SM_HOSTS/SM_CURRENT_HOST naming it; the first one starts xgboost's
tracker on 127.0.0.1 (DMLC_TRACKER_URI/PORT say where, as algo-1 does not resolve here).
If one worker fails, the others are stopped (they would wait for it forever).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from lab import jobs
from lab import warm as worker
from lab.errors import JobError
from lab.training import entry_point
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
               request: TrainingRequest | None) -> dict[str, str]:
    """SageMaker's script-mode variables; no AWS secrets (the script needs none)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))}
    env.update({f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()})
    env.update({"SM_MODEL_DIR": str(model_dir), "SM_CHANNELS": json.dumps(sorted(channels)),
                "SM_HPS": json.dumps(request.sagemaker_hyperparameters() if request else {})})
    env.pop("PYTHONPATH", None)  # proves the script is self-contained, as in a container
    return env


class LocalTraining(Twin):
    """Runs the entry point as a training job would, on this machine."""

    note = ("Runs the same script in a process of its own on this machine (started warm by "
            "the lab's worker), with SageMaker's channel and model folders.")

    def train(self, ctx: jobs.JobContext, request: TrainingRequest, channels: dict[str, Path],
              model_dir: Path, finish: Finish) -> Any:
        if request.instance_count > 1:
            return self._train_on_workers(ctx, request, channels, model_dir, finish)
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

    def warm_up(self, folder: Path) -> None:
        """Start the warm worker (its imports) before something is timed: a run of the
        entry point's --help, the cheapest run there is."""
        if worker.warm_available():
            worker.run_script([str(ENTRY_POINT), "--help"], _child_env({}, folder, None),
                              Path(folder) / "warm-up.txt", lambda line: None, lambda: False)

    def _train_on_workers(self, ctx: jobs.JobContext, request: TrainingRequest,
                          channels: dict[str, Path], model_dir: Path, finish: Finish) -> Any:
        """XGBoost on `request.instance_count` worker processes, one per instance."""
        from lab.processing import sharded_by_s3_key

        hosts = [f"algo-{i + 1}" for i in range(request.instance_count)]
        port = free_port()
        envs, roots = {}, {h: model_dir.parent / "instances" / h for h in hosts}
        for host, root in roots.items():
            mine = {}
            for name, folder in channels.items():
                mine[name] = root / "input" / "data" / name
                if name not in ("train", "validation"):  # FullyReplicated (meta): all of it
                    shutil.copytree(folder, mine[name], dirs_exist_ok=True)
                    continue
                mine[name].mkdir(parents=True, exist_ok=True)
                files = [f.name for f in sorted(Path(folder).glob("*.csv"))]
                for file_name in sharded_by_s3_key(files, hosts)[host]:
                    shutil.copyfile(Path(folder) / file_name, mine[name] / file_name)
            (root / "model").mkdir(parents=True, exist_ok=True)
            envs[host] = {**_child_env(mine, root / "model", request),
                          "SM_HOSTS": json.dumps(hosts), "SM_CURRENT_HOST": host,
                          "DMLC_TRACKER_URI": "127.0.0.1", "DMLC_TRACKER_PORT": str(port)}
        cmd = [sys.executable, "-u", str(ENTRY_POINT), *request.script_arguments()]
        ctx.log(f"$ python entry_point.py {' '.join(cmd[3:])}  (on {len(hosts)} workers, "
                f"tracker on 127.0.0.1:{port})")
        total = max(1, int(request.hyperparameters.get("n_estimators", 1)))
        failed = threading.Event()
        listening = threading.Event()  # algo-1's tracker is up (or algo-1 ended)
        codes: dict[str, int] = {}
        lines: dict[str, list[str]] = {h: [] for h in hosts}

        def worker_run(host: str) -> None:
            def on_line(line: str) -> None:
                lines[host].append(line)
                ctx.log(f"{host}: {line}")
                if host == hosts[0] and line.startswith("Tracker: "):
                    listening.set()
                curve = CURVE.match(line)
                if host == hosts[0] and curve and int(curve.group(1)) % 10 == 0:
                    step = int(curve.group(1))
                    ctx.progress(0.15 + 0.7 * step / total, f"Training on {len(hosts)} "
                                 f"workers: step {step} of {total}")

            stop = lambda: ctx.cancelled or failed.is_set()  # noqa: E731
            try:
                if worker.warm_available():
                    code = worker.run_script(cmd[2:], envs[host], roots[host] / "output.txt",
                                             on_line, stop)
                else:
                    code = run_process(cmd, envs[host], on_line, stop)
            except Exception as exc:  # noqa: BLE001 - the worker could not start
                lines[host].append(f"ERROR: {exc}")
                code = -1
            codes[host] = code
            if code != 0:
                failed.set()  # the others would wait for this one forever
            if host == hosts[0]:
                listening.set()

        threads = [threading.Thread(target=worker_run, args=(h,), name=f"lab-train-{h}")
                   for h in hosts]
        threads[0].start()
        # The others start once algo-1's tracker listens: started together, they call it
        # first and xgboost's retries back off for seconds (on SageMaker, instances start
        # minutes apart anyway, and the retries cover it).
        listening.wait(timeout=120)
        for thread in threads[1:]:
            thread.start()
        for thread in threads:
            thread.join()
        ctx.check_cancelled()
        broken = [h for h in hosts if codes.get(h) != 0]
        if broken:
            why = {h: ln[len("ERROR: "):] for h in broken for ln in lines[h]
                   if ln.startswith("ERROR: ")}
            stopped = [h for h in broken if h not in why]
            note = (f" ({', '.join(stopped)} stopped: it would have waited for it)"
                    if stopped and why else "")
            host = next(iter(why), broken[0])
            raise JobError(f"The training script failed on {host}: {why[host]}{note}"
                           if why else f"The training script failed on {', '.join(broken)}.")
        extra = [h for h in hosts[1:] if any((roots[h] / "model").iterdir())]
        if extra:
            raise JobError(f"{extra[0]} wrote a model too: only the first host may, or the "
                           "uploads would overwrite each other.")
        shutil.copytree(roots[hosts[0]] / "model", model_dir, dirs_exist_ok=True)
        metrics = extract_metrics(lines[hosts[0]])
        if "mse" not in metrics:
            raise JobError("The training script printed no `MSE:` line, so the metric "
                           "definitions found no objective.")
        return finish(metrics)

    def code(self) -> list:
        return [entry_point.main, entry_point.train_xgboost, entry_point.train_forest,
                entry_point.regression_metrics, entry_point.start_tracker,
                entry_point.communicator]


def free_port() -> int:
    """A port free on 127.0.0.1 now, for the workers' tracker."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_process(cmd: list[str], env: dict[str, str], on_line: Callable[[str], None],
                stop: Callable[[], bool]) -> int:
    """A cold worker process (no warm worker here): its lines, stopped when `stop()`."""
    proc = subprocess.Popen(jobs.dies_with_parent(cmd), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, bufsize=1)

    threading.Thread(target=jobs.stop_when, args=(proc, stop), daemon=True).start()
    assert proc.stdout is not None
    for line in proc.stdout:
        on_line(line.rstrip("\n"))
    return proc.wait()
