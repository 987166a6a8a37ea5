"""The local twin of SageMaker's automatic model tuning: Optuna proposes, trials train.

An Optuna study proposes hyperparameters (TPE for Bayesian, random, or a grid), and each
proposal runs as a trial: the training entry point in its own subprocess, at most
`max_parallel_jobs` at a time, each recorded as an experiment run linked to the tuning job
as soon as it ends (so the page shows trials as they finish). Only the coordinating thread
talks to the study; trial threads only train. The best trial is marked and its model
artifact path is the tuning job's result, for the registry.

The study lives in memory while the trials run and is saved to `<workspace>/tuning.db` once,
when they have ended (`_StudyFile`): Optuna's SQLite storage commits a dozen times per
trial through SQLAlchemy, and an ask cost 60-150 ms against 1-4 ms in memory (measured on
this machine), time the next trial waited for. The trials' results are in
`experiments.db` as they end, so only the study's copy waits for the job's end.
"""

from __future__ import annotations

import sqlite3
import threading
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


def _study(name: str, spec: TuningSpec):
    """The job's study, in memory (saved to tuning.db by `_StudyFile` at the job's end)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    memory = optuna.storages.InMemoryStorage()
    study = optuna.create_study(study_name=name, storage=memory, sampler=_sampler(spec),
                                direction=spec.direction.lower())
    return study, memory


class _StudyFile:
    """`<workspace>/tuning.db`, opened in a thread of its own while the trials run (on a
    fresh workspace Optuna creates its schema then: 0.2-0.9 s here), and the study saved
    into it once at the end.

    Optuna creates its schema (and alembic's version row) on first use without a lock, so
    two first tuning jobs at once failed with `UNIQUE constraint failed: alembic_version`:
    the workspace's lock serialises that. The file is in WAL mode with synchronous=NORMAL:
    a commit then waits for no fsync (this disk's takes 3-12 ms), and a crash of the machine
    (not of the lab) could lose the last save; the trials themselves are in experiments.db.
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws, self.storage, self.error = ws, None, None
        self._opening = threading.Thread(target=self._open, name="lab-tuning-db", daemon=True)
        self._opening.start()

    def _open(self) -> None:
        import optuna

        path = self.ws.path("tuning.db")

        def connect() -> sqlite3.Connection:
            conn = sqlite3.connect(path, timeout=30, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn

        try:
            with locked(self.ws.path(".locks", "tuning")):
                self.storage = optuna.storages.RDBStorage(f"sqlite:///{path}",
                                                          engine_kwargs={"creator": connect})
        except Exception as exc:  # noqa: BLE001 - reported by save(), in the job's thread
            self.error = exc

    def save(self, name: str, memory) -> None:
        """Copy the study `name` (its trials, their values and states) from the in-memory
        storage into tuning.db."""
        import optuna

        self._opening.join()
        if self.error is not None:
            raise self.error
        try:
            optuna.copy_study(from_study_name=name, from_storage=memory,
                              to_storage=self.storage, to_study_name=name)
        finally:
            self.storage.engine.dispose()  # the last connection closed: the WAL folds in


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

    def prefetch(self) -> None:
        """Optuna and its SQLite storage (SQLAlchemy, alembic's migrations): about 0.5 s of
        CPU that a process's first tuning job would otherwise spend beside its trials."""
        import alembic.migration  # noqa: F401
        import alembic.script  # noqa: F401
        import optuna.storages  # noqa: F401

        optuna.storages.RDBStorage  # noqa: B018 - its module (and SQLAlchemy) loads lazily

    def run(self, ctx: jobs.JobContext, spec: TuningSpec, data: TrainingData,
            channels: dict[str, Path]) -> None:
        _Trials(ctx, spec, data, channels, open_training(self.settings)).run()

    def code(self) -> list:
        return [_Trials.run, _Trials._trials, _sampler]


class _Trials:
    """One tuning job's trials: ask the study, train, tell it the result."""

    def __init__(self, ctx: jobs.JobContext, spec: TuningSpec, data: TrainingData,
                 channels: dict[str, Path], engine: Any) -> None:
        self.ctx, self.spec, self.data, self.channels = ctx, spec, data, channels
        self.engine, self.experiments = engine, Experiments(ctx.store.ws)

    def run(self) -> None:
        ctx, spec = self.ctx, self.spec
        saved = _StudyFile(ctx.store.ws)  # opens tuning.db meanwhile
        study, memory = _study(ctx.job.job_id, spec)
        try:
            failures = self._trials(study)
        except BaseException:
            try:
                saved.save(study.study_name, memory)  # what ran is kept, as when it ends
            except Exception:  # noqa: BLE001 - the job's own error is the one to report
                pass
            raise
        saved.save(study.study_name, memory)
        ctx.check_cancelled()
        if failures and len(failures) == spec.total_jobs:
            raise JobError(f"All {spec.total_jobs} trials failed; the first: {failures[0]}")

    def _trials(self, study) -> list[str]:
        """Ask, train, tell until the budget is spent; the failed trials' reasons. A slot
        that frees up gets its next trial before the finished one's bookkeeping (best
        trial, progress), so the trials follow each other without a gap."""
        from optuna.trial import TrialState

        ctx, spec, engine = self.ctx, self.spec, self.engine
        distributions = _distributions(spec)
        total, launched, finished, failures = spec.total_jobs, 0, 0, []
        running: dict[Any, Any] = {}
        with ThreadPoolExecutor(spec.parallel, thread_name_prefix="lab-trial") as pool:

            def fill() -> None:
                nonlocal launched
                while launched < total and len(running) < spec.parallel and not ctx.cancelled:
                    launched += 1
                    trial = study.ask(distributions)
                    ctx.log(f"Trial {launched} started: {trial.params}")
                    running[pool.submit(self._trial, engine, launched, trial.params)] = trial

            fill()
            while running:
                done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
                completed = []
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
                    ctx.log(f"Trial {run.trial} completed: {spec.objective} {value:,.6g}")
                    completed.append(run)
                fill()
                if completed:
                    best = self.experiments.mark_best(ctx.job.job_id, spec.objective,
                                                      spec.direction)
                    ctx.progress(0.1 + 0.85 * finished / total,
                                 f"{finished} of {total} trials finished; best "
                                 f"{spec.objective} {best.validation[spec.objective]:,.6g}")
        return failures

    def _trial(self, engine: Any, number: int, params: dict[str, Any]) -> Run:
        ctx = self.ctx
        folder = ctx.dir / "trials" / f"{number:03d}"
        request = self.spec.request_for(params)
        return execute_run(TrialContext(ctx, folder), engine, request, self.data, folder,
                           run_id=f"{ctx.job.job_id}-{number:03d}",
                           name=f"{ctx.job.job_id} trial {number}", channels=self.channels,
                           tuning_job=ctx.job.job_id, trial=number)
