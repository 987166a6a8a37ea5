"""The local twin of SageMaker's automatic model tuning: Optuna proposes, trials train.

An Optuna study (stored in `<workspace>/tuning.db`) proposes hyperparameters (TPE for
Bayesian, random, or a grid), and each proposal runs as a trial: the training entry point
in its own subprocess, at most `max_parallel_jobs` at a time, each recorded as an
experiment run linked to the tuning job as soon as it ends (so the page shows trials as
they finish). Only the coordinating thread talks to the study; trial threads only train.
The best trial is marked and its model artifact path is the tuning job's result, for the
registry.
"""

from __future__ import annotations

import warnings
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from lab import jobs
from lab.errors import JobError
from lab.training import Experiments, Run, TrainingData, execute_run, open_training
from lab.tuning._api import CATEGORICAL, INTEGER, TuningSpec
from lab.twins import Twin
from lab.workspace import Workspace, locked


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
    """The job's study in `tuning.db`. Optuna creates its schema (and alembic's version
    row) on first use without a lock, so two first tuning jobs at once failed with
    `UNIQUE constraint failed: alembic_version`: the workspace's lock serialises that."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with locked(ws.path(".locks", "tuning")):
        storage = optuna.storages.RDBStorage(
            f"sqlite:///{ws.path('tuning.db')}",
            engine_kwargs={"connect_args": {"timeout": 30}})
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


class LocalTuning(Twin):
    """Runs the trials of one tuning job on this machine."""

    note = ("Optuna proposes the hyperparameters (TPE for Bayesian); each trial runs the "
            "training script in a process of its own on this machine.")

    def run(self, ctx: jobs.JobContext, spec: TuningSpec, data: TrainingData,
            channels: dict[str, Path]) -> None:
        _Trials(ctx, spec, data, channels, open_training(self.settings)).run()

    def code(self) -> list:
        return [_Trials.run, _sampler]


class _Trials:
    """One tuning job's trials: ask the study, train, tell it the result."""

    def __init__(self, ctx: jobs.JobContext, spec: TuningSpec, data: TrainingData,
                 channels: dict[str, Path], engine: Any) -> None:
        self.ctx, self.spec, self.data, self.channels = ctx, spec, data, channels
        self.engine, self.experiments = engine, Experiments(ctx.store.ws)

    def run(self) -> None:
        from optuna.trial import TrialState

        ctx, spec, engine = self.ctx, self.spec, self.engine
        study = _study(ctx.store.ws, ctx.job.job_id, spec)
        distributions = _distributions(spec)
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
