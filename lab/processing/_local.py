"""The local twin of a processing job: the script in a process of its own, SageMaker's folders.

What SageMaker does in its container happens here in a child process: the dataset is
copied into `input/`, the script runs by its path (no PYTHONPATH: it must need nothing of
the lab, as in the container) with the job's arguments, and writes `output/<split>/`. On
Linux that process is forked from the warm worker (`lab.warm`), which has imported pandas
and scikit-learn once, so a job does not pay a cold interpreter (about 1.5 s) each time.

With several instances, N worker processes play the N instances, all at once: each gets
its own folders (its input shards, as ShardedByS3Key deals them, the plan, its own output
folder) and its own resource config naming it (algo-1, algo-2...), as on SageMaker; their
outputs are then merged the way SageMaker uploads them under one S3 prefix (`_sharded`).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

from lab import warm
from lab.errors import JobError
from lab.processing import _sharded, preprocess
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
            "and output folders; with several instances, one worker process per instance, "
            "each with its own shards.")

    def run(self, ctx: Any, request: ProcessingRequest, input_csv: Path,
            output_dir: Path) -> dict | None:
        if request.instance_count > 1:
            return _sharded.run_sharded(ctx, request, input_csv, output_dir, self.run_phase)
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

        if warm.warm_available():  # its own process, forked from one that imported pandas
            def log_line(line: str) -> None:
                ctx.log(line)
                on_line(line)

            code = warm.run_script(cmd[2:], child_env(), ctx.dir / "script.log", log_line,
                                   lambda: ctx.cancelled)
            ctx.check_cancelled()
        else:
            code = ctx.run_subprocess(cmd, env=child_env(), on_line=on_line)
        if code != 0:
            raise JobError(errors[-1] if errors else f"The processing script exited with {code}.")
        return None

    def run_phase(self, ctx: Any, request: ProcessingRequest, phase: str, shards: list[Path],
                  plan: Path | None, into: Path) -> None:
        """One phase of a sharded job: N worker processes at once, one per instance."""
        instances = _sharded.hosts(len(shards))
        dealt = _sharded.sharded_by_s3_key([p.name for p in shards], instances)
        by_name = {p.name: p for p in shards}
        roots = {host: ctx.dir / "instances" / phase / host for host in instances}
        commands = {}
        for host, root in roots.items():
            data = root / "input" / "data"
            data.mkdir(parents=True, exist_ok=True)
            for name in dealt[host]:  # what S3 would copy onto this instance
                _link_or_copy(by_name[name], data / name)
            if plan is not None:  # FullyReplicated: every instance gets the whole plan
                shutil.copytree(plan, root / "input" / "plan", copy_function=_link_or_copy)
            (root / "config").mkdir(parents=True, exist_ok=True)
            (root / "config" / "resourceconfig.json").write_text(json.dumps(
                {"current_host": host, "hosts": instances}))
            commands[host] = [sys.executable, "-u", str(SCRIPT), "--phase", phase,
                              "--input-dir", str(data), "--output-dir", str(root / "output"),
                              "--plan", str(root / "input" / "plan"),
                              "--resource-config", str(root / "config" / "resourceconfig.json"),
                              *request.params.script_arguments(request.dataset.target)]
        ctx.log(f"$ python preprocess.py --phase {phase} ... on {len(instances)} worker "
                "processes: " + "; ".join(f"{h}: {', '.join(dealt[h]) or 'no shard'}"
                                          for h in instances))
        failures: dict[str, str] = {}
        errors: dict[str, list[str]] = {h: [] for h in instances}

        def instance(host: str) -> None:
            def on_line(line: str) -> None:
                if line.startswith("ERROR: "):
                    errors[host].append(line[len("ERROR: "):])

            def log_line(line: str) -> None:
                ctx.log(line)
                on_line(line)

            try:
                if warm.warm_available():  # a fork of a process that imported pandas
                    code = warm.run_script(commands[host][2:], child_env(),
                                           roots[host] / "log.txt", log_line,
                                           lambda: ctx.cancelled)
                else:
                    code = ctx.run_subprocess(commands[host], env=child_env(),
                                              on_line=on_line)
            except Exception as exc:  # noqa: BLE001 - cancelled, or could not start
                failures[host] = str(exc) or type(exc).__name__
                return
            if code != 0:
                failures[host] = errors[host][-1] if errors[host] else f"exited with {code}"

        threads = [threading.Thread(target=instance, args=(h,), name=f"lab-{h}")
                   for h in instances]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ctx.check_cancelled()
        if failures:
            host, why = sorted(failures.items())[0]
            raise JobError(f"The {phase} phase failed on {host}: {why}")
        _sharded.merge_outputs({h: roots[h] / "output" for h in instances}, into)

    def code(self) -> list:
        return [preprocess.split_dataset, preprocess.scale_dataset]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)
