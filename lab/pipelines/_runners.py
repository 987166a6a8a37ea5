"""What each kind of step does on the local backend, with the lab's existing capabilities.

A runner gets the step's resolved inputs and its own output folder
`<workspace>/pipelines/<execution>/<step>/`, and returns (outputs, metrics). Scripts run in
processes of their own, as SageMaker runs them in containers (forked from the warm worker,
`lab.warm`, on Linux, so each does not pay a cold interpreter and imports): the processing
script (lab/processing/preprocess.py) and the training entry point
(lab/training/entry_point.py); the evaluation script runs in-process.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

from lab import jobs, warm
from lab.errors import InputError, JobError

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
LAB = PROJECT_ROOT / "lab"
SCRIPTS = {"processing": LAB / "processing" / "preprocess.py",
           "training": LAB / "training" / "entry_point.py",
           "evaluation": LAB / "pipelines" / "evaluate.py",
           "serving": LAB / "training" / "inference.py",
           "data_quality": LAB / "monitoring" / "drift.py",
           "model_quality": LAB / "pipelines" / "model_quality.py"}
SPLITS = ("train", "validation", "test")  # the processing script's
MODEL_JSON = "model.json"  # the artifact contract's (lab.training.artifact)
Outputs = tuple[dict[str, Any], dict[str, Any]]

# The code each kind runs: part of its cache key (a changed script is a cache miss).
CODE = {"processing": [SCRIPTS["processing"]], "training": [SCRIPTS["training"]],
        "evaluation": [SCRIPTS["evaluation"], SCRIPTS["serving"]],
        "data_quality": [SCRIPTS["data_quality"]], "model_quality": [SCRIPTS["model_quality"]]}


class QualityGateFailed(JobError):
    """A quality check found the data (or model) out of bounds: the step fails, with the
    numbers it found kept on the step's record."""

    def __init__(self, message: str, metrics: dict[str, Any], outputs: dict[str, Any]) -> None:
        super().__init__(message)
        self.metrics, self.outputs = metrics, outputs


class StepContext(jobs.JobContext):
    """A job context whose log is the step's own (also copied, prefixed, to the job log)."""

    def __init__(self, job_ctx: jobs.JobContext, execution: str, step: str,
                 folder: Path) -> None:
        super().__init__(job_ctx.store, job_ctx.job)
        self.job_ctx, self.execution, self.step, self.dir = job_ctx, execution, step, folder
        self.log_path = folder / "log.txt"
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path.touch()

    def log(self, line: str) -> None:
        with self._log_lock, open(self.log_path, "a") as fh:
            fh.write(line.rstrip("\n") + "\n")
        self.job_ctx.log(f"[{self.step}] {line.rstrip()}")

    def progress(self, fraction: float, message: str) -> None:
        """Step progress is its status in the pipeline store; nothing more to save."""

    @property
    def cancelled(self) -> bool:
        return self.job_ctx.cancelled


def _env() -> dict[str, str]:
    """A script's environment: no AWS secrets and no PYTHONPATH (the scripts are
    self-contained, as in a container)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("AWS_SECRET", "AWS_SESSION", "AWS_ACCESS"))
            and k != "PYTHONPATH"}


def _run(ctx: StepContext, cmd: list[str], what: str, env: dict[str, str] | None = None) -> None:
    errors: list[str] = []
    last: list[str] = []

    def on_line(line: str) -> None:
        if line.startswith("ERROR: "):
            errors.append(line[len("ERROR: "):])
        elif line.strip():
            last[:] = [line.strip()]

    ctx.log("$ python " + " ".join(Path(c).name if c.endswith(".py") else c for c in cmd[2:]))
    if warm.warm_available():  # its own process, forked from one that imported the libraries
        def log_line(line: str) -> None:
            ctx.log(line)
            on_line(line)

        code = warm.run_script(cmd[2:], env or _env(), ctx.dir / "script-output.txt",
                               log_line, lambda: ctx.cancelled)
        ctx.check_cancelled()
    else:
        code = ctx.run_subprocess(cmd, env=env or _env(), on_line=on_line)
    if code != 0:
        reason = errors[-1] if errors else (last[-1] if last else f"exit code {code}")
        raise JobError(f"The {what} failed: {reason}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def prepare_processing(settings: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Name the dataset the step reads and hash its content (the cache key sees the data)."""
    from lab.dataset import active_dataset, list_datasets
    from lab.workspace import Workspace

    ws = Workspace(settings.workspace)
    name = inputs.get("input_data") or ""
    if name.startswith("s3://"):
        raise InputError("InputData is an s3:// URI, which the SageMaker backend reads: on "
                         "the local backend name a dataset of the workspace (or leave it "
                         "empty for the active one).")
    if name:
        found = {d.name: d for d in list_datasets(ws)}
        if name not in found:
            raise InputError(f"There is no dataset {name!r} in this workspace: use one of "
                             f"{', '.join(found) or '(none yet)'}.")
        info = found[name]
    else:
        info = active_dataset(ws)
    path = info.path(ws)
    return {**inputs, "input_data": info.name,
            "target": inputs.get("target_column") or info.target, "file": str(path),
            "input_sha256": file_sha256(path)}


def prepare_data_quality(settings: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """Name the baseline folder the check reads (empty: the workspace's) and hash its files
    (the cache key sees the baseline's content)."""
    from lab.monitoring import baseline_digest, read_baseline
    from lab.workspace import Workspace

    given = str(inputs.get("baseline") or "")
    if not given:
        folder = read_baseline(settings).folder  # BaselineMissingError: make one first
    else:
        ws = Workspace(settings.workspace)
        folder = Path(given) if Path(given).is_absolute() else ws.root / given
        if given.startswith("s3://") or not ws.contains(folder) or not all(
                (folder / f).is_file() for f in ("statistics.json", "constraints.json")):
            raise InputError(f"DataBaseline {given!r} is not a baseline folder of this "
                             "workspace: leave it empty for the workspace's own baseline.")
    return {**inputs, "baseline": str(folder), "baseline_sha256": baseline_digest(folder)}


PREPARE = {"processing": prepare_processing, "data_quality": prepare_data_quality}


def run_processing(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    import shutil

    input_dir, output_dir = ctx.dir / "input", ctx.dir / "output"
    input_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(inputs["file"], input_dir / Path(inputs["file"]).name)
    if int(inputs.get("instance_count", 1)) > 1:
        ctx.log(f"Local backend: 1 instance (asked for {inputs['instance_count']}).")
    _run(ctx, [sys.executable, "-u", str(SCRIPTS["processing"]), "--input-dir", str(input_dir),
               "--output-dir", str(output_dir), "--train_size", str(inputs["train_size"]),
               "--val_size", str(inputs["val_size"]), "--test_size", str(inputs["test_size"]),
               "--target_col", inputs["target"]], "processing script")
    meta = json.loads((output_dir / "meta" / "prep.json").read_text())
    outputs = {split: str(output_dir / split) for split in SPLITS}
    outputs["meta"] = str(output_dir / "meta" / "prep.json")
    return outputs, {f"rows_{k}": v for k, v in meta["rows"].items()}


def run_training(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    """The entry point on the processing outputs as they are (no header, target first),
    with the meta folder (prep.json) as the `meta` channel, as on SageMaker."""
    from lab.training import build_request

    request = build_request(inputs["algorithm"], {"max_depth": inputs["max_depth"],
                                                  "n_estimators": inputs["n_estimators"]})
    channels = {"train": inputs["train"], "validation": inputs["validation"],
                "meta": str(Path(inputs["train"]).parent / "meta")}
    model_dir = ctx.dir / "model"
    env = {**_env(), "SM_MODEL_DIR": str(model_dir),
           **{f"SM_CHANNEL_{k.upper()}": str(v) for k, v in channels.items()}}
    _run(ctx, [sys.executable, "-u", str(SCRIPTS["training"]), *request.script_arguments()],
         "training script", env)
    model_json = json.loads((model_dir / MODEL_JSON).read_text())
    tar = ctx.dir / "model.tar.gz"
    with tarfile.open(tar, "w:gz", compresslevel=1) as fh:
        for item in sorted(model_dir.iterdir()):
            fh.add(item, arcname=item.name)
    validation = model_json.get("metrics", {}).get("validation", {})
    return {"model": str(tar)}, {f"validation_{k}": v for k, v in validation.items()}


def run_evaluation(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    from lab.pipelines.evaluate import evaluate
    from lab.training import inference

    out = ctx.dir / "evaluation"
    ctx.log(f"evaluate(model={Path(inputs['model']).name}, test={inputs['test']})")
    try:
        report = evaluate(inputs["model"], inputs["test"], str(out), inference, log=ctx.log)
    except ValueError as exc:
        raise JobError(f"The evaluation failed: {exc}") from None
    path = str(out / "evaluation.json")
    return ({"evaluation": path, "property_files": {"EvaluationReport": path}},
            {k: v["value"] for k, v in report["regression_metrics"].items()})


def run_data_quality(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    """The data-quality check (lab/monitoring/drift.py), in the job's process as the
    evaluation is; a violation fails the step with the numbers kept."""
    from lab.monitoring import drift

    out = ctx.dir / "data_quality"
    meta_dir = str(Path(inputs["meta"]).parent)
    try:
        report = drift.check(inputs["train"], meta_dir, inputs["baseline"], str(out),
                             log=ctx.log)
    except (drift.BadInput, KeyError) as exc:
        raise JobError(f"The data-quality check failed: {exc}") from None
    path = str(out / "data_quality.json")
    outputs = {"data_quality": path, "property_files": {"DataQualityReport": path}}
    metrics: dict[str, Any] = {"violations": len(report["violations"]),
                               "drifted features": len(report["drifted"])}
    for name, found in report["features"].items():
        metrics[f"{name} PSI"] = found["psi"]
        metrics[f"{name} KS"] = found["ks"]
    if report["violations"]:
        raise QualityGateFailed(drift.summary_line(report), metrics, outputs)
    return outputs, metrics


def run_model_quality(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    from lab.pipelines.model_quality import check

    out = ctx.dir / "model_quality"
    try:
        found = check(str(Path(inputs["evaluation"]).parent), float(inputs["approved_mse"]),
                      float(inputs["margin"]), str(out), log=ctx.log)
    except ValueError as exc:
        raise JobError(f"The model-quality check failed: {exc}") from None
    path = str(out / "model_quality.json")
    mse = found["mse"]
    return ({"model_quality": path, "property_files": {"ModelQualityReport": path}},
            {"test mse": mse["value"], "approved mse": mse["approved"],
             "ceiling": mse["ceiling"], "passed": found["passed"]})


def warm_up() -> None:
    """Import the model libraries while the first steps run (evaluation needs them)."""
    try:
        import xgboost  # noqa: F401

        import lab.training.inference  # noqa: F401
    except ImportError:
        pass


def run_register(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    from lab.registry import default_group, open_registry
    from lab.training import load_model

    report = json.loads(Path(inputs["evaluation"]).read_text())["regression_metrics"]
    model = load_model(inputs["model"])  # proves it loads before anything is registered
    meta = dict(model.metadata, algorithm=model.algorithm, features=list(model.features))
    meta["metrics"] = {**meta.get("metrics", {}),
                       "test": {k: v["value"] for k, v in report.items()}}
    registry, group = open_registry(settings), default_group(settings)
    try:
        registry.create_group(group, "MLOps lab: housing price regressors", exist_ok=True)
        version = registry.register(
            group, inputs["model"], metadata=meta, status=inputs["approval_status"],
            source={"pipeline_execution": ctx.execution, "backend": settings.backend},
            description=f"{model.algorithm} from pipeline execution {ctx.execution}")
    finally:
        registry.close()
    ctx.log(f"Registered {version.group} version {version.version} ({version.status})")
    return ({"group": version.group, "version": version.version, "arn": version.arn,
             "approval_status": version.status}, {})


def run_latest_approved(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    from lab.registry import APPROVED, ModelGroupNotFoundError, default_group, open_registry

    registry = open_registry(settings)
    try:
        versions = registry.list_versions(default_group(settings))
    except ModelGroupNotFoundError:
        versions = []
    finally:
        registry.close()
    approved = [v for v in versions if v.status == APPROVED]
    if not approved:
        raise InputError("There is no Approved model version: approve one in the registry "
                         "first (the training pipeline registers versions as Pending).")
    latest = max(approved, key=lambda v: v.version)
    ctx.log(f"Latest approved: {latest.group} version {latest.version}")
    return {"version": latest.version, "group": latest.group}, {}


def run_deploy(ctx: StepContext, settings: Any, inputs: dict[str, Any]) -> Outputs:
    from lab.serving import deploy_model

    endpoint = deploy_model(settings, int(inputs["version"]), inputs.get("endpoint") or None,
                            progress=lambda f, m: ctx.log(m))
    ctx.log(f"{endpoint.name}: {endpoint.status}, serving version {endpoint.version}")
    return {"endpoint": endpoint.name, "status": endpoint.status,
            "url": getattr(endpoint, "url", None)}, {}


RUNNERS = {"processing": run_processing, "training": run_training,
           "evaluation": run_evaluation, "register": run_register,
           "latest_approved": run_latest_approved, "deploy": run_deploy,
           "data_quality": run_data_quality, "model_quality": run_model_quality}
