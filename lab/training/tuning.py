"""Automatic model tuning: many training jobs, each proposed from the results so far.

Local twin of SageMaker's tuning job: an Optuna study (stored in
`<workspace>/tuning.db`) proposes hyperparameters (TPE for Bayesian, random, or a grid), and
each proposal runs as a trial: the training entry point in its own subprocess, at most
`max_parallel_jobs` at a time, each recorded as an experiment run linked to the tuning job
as soon as it ends (so the page shows trials as they finish). Only the coordinating thread
talks to the study; trial threads only train. The best trial is marked and its model
artifact path is the tuning job's result, for the registry.

On the SageMaker backend the job is a HyperparameterTuner (`sagemaker_tune.py`) and the
trials are SageMaker training jobs, recorded here the same way.
"""

from __future__ import annotations

import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from lab import jobs
from lab.errors import JobError
from lab.settings import Settings
from lab.training.data import TrainingData, read_training_data
from lab.training.experiments import Experiments, Run
from lab.training.train import ensure_data, execute_run
from lab.training.tuning_spec import CATEGORICAL, INTEGER, TuningSpec, build_tuning_spec
from lab.workspace import Workspace

KIND = "tuning"


class TrialContext(jobs.JobContext):
    """A trial's view of the tuning job: its own log file, the job's cancel marker."""

    def __init__(self, parent: jobs.JobContext, folder: Path) -> None:
        super().__init__(parent.store, parent.job)
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "log.txt"
        self.log_path.touch()

    def log(self, line: str) -> None:
        with self._log_lock, open(self.log_path, "a") as fh:
            fh.write(line.rstrip("\n") + "\n")

    def progress(self, fraction: float, message: str) -> None:
        pass  # the tuning job reports progress per finished trial


def _distributions(spec: TuningSpec) -> dict[str, Any]:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out = {}
    for r in spec.ranges:
        log = r.scaling == "Logarithmic"
        if r.kind == CATEGORICAL:
            out[r.name] = CategoricalDistribution(list(r.values))
        elif r.kind == INTEGER:
            out[r.name] = IntDistribution(int(r.min_value), int(r.max_value), log=log)
        else:
            out[r.name] = FloatDistribution(float(r.min_value), float(r.max_value), log=log)
    return out


def _sampler(spec: TuningSpec):
    import optuna

    if spec.strategy == "Grid":
        return optuna.samplers.GridSampler({r.name: r.grid_values() for r in spec.ranges},
                                           seed=spec.seed)
    if spec.strategy == "Random":
        return optuna.samplers.RandomSampler(seed=spec.seed)
    # Bayesian: TPE. The first half of the budget explores at random (SageMaker's Bayesian
    # search also starts from random points); constant_liar keeps parallel trials apart.
    startup = max(1, min(10, spec.max_jobs // 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant_liar is flagged experimental
        return optuna.samplers.TPESampler(seed=spec.seed, n_startup_trials=startup,
                                          constant_liar=True)


def _study(ws: Workspace, name: str, spec: TuningSpec):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{ws.path('tuning.db')}", engine_kwargs={"connect_args": {"timeout": 30}})
    return optuna.create_study(study_name=name, storage=storage, sampler=_sampler(spec),
                               direction=spec.direction.lower())


def _tell(study, trial, *args: Any, **kwargs: Any) -> None:
    """study.tell, for a study driven by hand (ask/tell) rather than by study.optimize.

    Optuna's GridSampler calls study.stop() once the grid is covered, which only works
    inside optimize() and raises otherwise; the trial's result is already stored by then
    (tell stores it in a `finally`), and the lab counts its trials itself.
    """
    try:
        study.tell(trial, *args, **kwargs)
    except RuntimeError as exc:
        if "Study.stop" not in str(exc):
            raise


class LocalTuner:
    """Runs the trials of one tuning job on this machine."""

    def __init__(self, ctx: jobs.JobContext, spec: TuningSpec, data: TrainingData,
                 channels: dict[str, Path]) -> None:
        self.ctx, self.spec, self.data, self.channels = ctx, spec, data, channels
        self.experiments = Experiments(ctx.store.ws)

    def run(self) -> None:
        from optuna.trial import TrialState

        from lab.training.local import LocalTraining

        ctx, spec = self.ctx, self.spec
        study = _study(ctx.store.ws, ctx.job.job_id, spec)
        distributions, engine = _distributions(spec), LocalTraining()
        total, launched, finished, failures = spec.total_jobs, 0, 0, []
        running: dict[Any, Any] = {}
        with ThreadPoolExecutor(spec.parallel, thread_name_prefix="lab-trial") as pool:
            while running or (launched < total and not ctx.cancelled):
                while launched < total and len(running) < spec.parallel and not ctx.cancelled:
                    launched += 1
                    trial = study.ask(distributions)
                    ctx.log(f"Trial {launched} started: {trial.params}")
                    running[pool.submit(self._trial, engine, launched, trial.params)] = trial
                done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    trial = running.pop(future)
                    finished += 1
                    try:
                        run = future.result()
                    except jobs.JobCancelled:
                        _tell(study, trial, state=TrialState.FAIL)
                        continue
                    except Exception as exc:  # recorded Failed by execute_run; tuning goes on
                        _tell(study, trial, state=TrialState.FAIL)
                        failures.append(str(exc))
                        ctx.log(f"Trial {trial.number + 1} failed: {exc}")
                        continue
                    value = run.validation[spec.objective]
                    _tell(study, trial, value)
                    best = self.experiments.mark_best(ctx.job.job_id, spec.objective,
                                                      spec.direction)
                    ctx.log(f"Trial {run.trial} completed: {spec.objective} {value:,.6g}")
                    ctx.progress(0.1 + 0.85 * finished / total,
                                 f"{finished} of {total} trials finished; best "
                                 f"{spec.objective} {best.validation[spec.objective]:,.6g}")
        ctx.check_cancelled()
        if failures and len(failures) == total:
            raise JobError(f"All {total} trials failed; the first: {failures[0]}")

    def _trial(self, engine: Any, number: int, params: dict[str, Any]) -> Run:
        ctx = self.ctx
        folder = ctx.dir / "trials" / f"{number:03d}"
        request = self.spec.request_for(params)
        return execute_run(TrialContext(ctx, folder), engine, request, self.data, folder,
                           run_id=f"{ctx.job.job_id}-{number:03d}",
                           name=f"{ctx.job.job_id} trial {number}", channels=self.channels,
                           tuning_job=ctx.job.job_id, trial=number)


def tuning_job(settings: Settings, spec: TuningSpec) -> jobs.JobFn:
    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        ctx.progress(0.02, "Reading the splits from the feature store (offline store)")
        data = read_training_data(settings, lambda f, m: ctx.progress(0.02 + 0.05 * f, m))
        channels = data.write_channels(ctx.dir / "input" / "data")  # shared by the trials
        ctx.log(f"Tuning {spec.algorithm}: {spec.total_jobs} jobs, {spec.parallel} at a time, "
                f"{spec.strategy} strategy, {spec.direction.lower()} {spec.objective}")
        ctx.progress(0.08, "Starting the trials")
        if settings.backend == "sagemaker":
            from lab.training.sagemaker_tune import SageMakerTuning

            SageMakerTuning(settings).run(ctx, spec, data, channels)
        else:
            LocalTuner(ctx, spec, data, channels).run()
        return result_json(Workspace(settings.workspace), ctx.job.job_id, spec)

    return run


def result_json(ws: Workspace, job_id: str, spec: TuningSpec) -> dict[str, Any]:
    """What a tuning job returns (and run-all prints as "tuning")."""
    trials = Experiments(ws).list(tuning_job=job_id)
    best = next((t for t in trials if t.best), None)
    if best is None:
        raise JobError("No trial completed, so there is no best model.")
    return {"tuning_job": job_id, "trials": len(trials),
            "completed": sum(t.status == "Completed" for t in trials),
            "objective": spec.objective, "direction": spec.direction,
            "strategy": spec.strategy,
            "best": {"run_id": best.run_id, "trial": best.trial,
                     "hyperparameters": best.params,
                     spec.objective: best.validation[spec.objective],
                     "test_metrics": best.metrics, "artifact": best.artifact}}


def start_tuning_job(settings: Settings, **spec_args: Any) -> str:
    """Check the spec (build_tuning_spec's arguments), then tune in the background."""
    spec = build_tuning_spec(**spec_args)
    ensure_data(settings)
    return jobs.submit(Workspace(settings.workspace), KIND, spec.to_json(),
                       tuning_job(settings, spec))


def run_tuning_job(settings: Settings, echo=None, **spec_args: Any) -> jobs.Job:
    """Check the spec, then tune in this thread (the CLI's way)."""
    spec = build_tuning_spec(**spec_args)
    ensure_data(settings)
    return jobs.run_now(Workspace(settings.workspace), KIND, spec.to_json(),
                        tuning_job(settings, spec), echo)

