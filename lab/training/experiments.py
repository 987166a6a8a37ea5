"""Experiment tracking: every training run with its parameters, metrics and curve.

The local twin of SageMaker Experiments is one SQLite file, `<workspace>/experiments.db`,
in WAL mode with a busy timeout: many Streamlit sessions read it while job threads write.
Each call opens its own short connection, so threads never share one.

A run is what SageMaker calls a run (a trial component): a name in an experiment, a status
(InProgress, Completed, Failed, Stopped), parameters, final metrics and per-step metrics
(the learning curve). Runs of a tuning job carry the tuning job's id and their trial number;
the best trial is marked.

Paths of a run's files (its artifact, its predictions) are kept relative to the workspace,
so a copied or moved workspace uses its own copies. A run still InProgress whose job's
process died (SIGKILL, a closed laptop) is recorded as Failed with the reason the first
time it is read.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.db import Database
from lab.jobs import JobStore
from lab.workspace import Workspace

IN_PROGRESS, COMPLETED, FAILED, STOPPED = "InProgress", "Completed", "Failed", "Stopped"
LOG_TAIL_LINES = 80

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    params TEXT NOT NULL,               -- JSON: hyperparameters
    metrics TEXT NOT NULL DEFAULT '{}',   -- JSON: test split (mse, rmse, r2, mae)
    validation TEXT NOT NULL DEFAULT '{}',  -- JSON: read from the log by the metric definitions
    curve TEXT NOT NULL DEFAULT '{}',     -- JSON: step, train-rmse, validation-rmse
    importance TEXT NOT NULL DEFAULT '{}',  -- JSON: feature -> importance
    created REAL NOT NULL,
    ended REAL,
    job_id TEXT,
    backend TEXT NOT NULL DEFAULT 'local',
    artifact TEXT,                      -- path of model.tar.gz
    predictions TEXT,                   -- path of the test predictions (JSON)
    tuning_job TEXT,
    trial INTEGER,
    best INTEGER NOT NULL DEFAULT 0,
    failure TEXT,
    log TEXT                            -- the log's tail, kept for runs that failed
);
CREATE INDEX IF NOT EXISTS runs_by_tuning_job ON runs (tuning_job, trial);
"""
_JSON = ("params", "metrics", "validation", "curve", "importance")
_PATHS = ("artifact", "predictions")


@dataclass
class Run:
    run_id: str
    experiment: str
    name: str
    status: str
    algorithm: str
    params: dict[str, Any]
    created: float
    metrics: dict[str, float] = field(default_factory=dict)
    validation: dict[str, float] = field(default_factory=dict)
    curve: dict[str, list] = field(default_factory=dict)
    importance: dict[str, float] = field(default_factory=dict)
    ended: float | None = None
    job_id: str | None = None
    backend: str = "local"
    artifact: str | None = None
    predictions: str | None = None
    tuning_job: str | None = None
    trial: int | None = None
    best: bool = False
    failure: str | None = None
    log: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (COMPLETED, FAILED, STOPPED)

    @property
    def duration_s(self) -> float:
        return (self.ended or time.time()) - self.created

    def predictions_data(self) -> dict[str, list[float]] | None:
        """{"actual": [...], "predicted": [...]} on the test split, if the run kept them."""
        if not self.predictions:
            return None
        try:
            return json.loads(Path(self.predictions).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("curve", "log")}
        out["curve_steps"] = len(self.curve.get("step", []))
        return out


class Experiments:
    """The runs of one workspace."""

    def __init__(self, ws: Workspace | str | Path) -> None:
        ws = ws if isinstance(ws, Workspace) else Workspace(ws)
        self.ws = ws
        self.path = ws.path("experiments.db")
        self.db = Database(self.path, _SCHEMA)

    def start(self, run_id: str, experiment: str, name: str, algorithm: str,
              params: dict[str, Any], **fields: Any) -> Run:
        run = Run(run_id=run_id, experiment=experiment, name=name, status=IN_PROGRESS,
                  algorithm=algorithm, params=dict(params), created=time.time(), **fields)
        row = self._stored(_to_row(run))
        with self.db.write() as conn:
            conn.execute(f"INSERT OR REPLACE INTO runs ({', '.join(row)}) "
                         f"VALUES ({', '.join('?' * len(row))})", list(row.values()))
        return run

    def finish(self, run_id: str, status: str, **fields: Any) -> Run:
        """Record how a run ended, with whatever it produced (metrics, curve, paths...)."""
        fields = {"status": status, "ended": time.time(), **fields}
        if "log" in fields and fields["log"]:
            fields["log"] = "\n".join(str(fields["log"]).splitlines()[-LOG_TAIL_LINES:])
        row = self._stored({k: (json.dumps(v) if k in _JSON else v) for k, v in fields.items()})
        with self.db.write() as conn:
            conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in row)} "
                         "WHERE run_id = ?", [*row.values(), run_id])
        run = self.get(run_id)
        assert run is not None, run_id
        return run

    def get(self, run_id: str) -> Run | None:
        with self.db.read() as conn:
            row = conn.execute("SELECT * FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return self._reconciled([self._run(row)])[0] if row else None

    def list(self, tuning_job: str | None = None, status: str | None = None,
             limit: int | None = None) -> list[Run]:
        """Runs, newest first (a tuning job's trials: in trial order)."""
        if not self.path.exists():
            return []
        where, args = [], []
        if tuning_job is not None:
            where.append("tuning_job = ?")
            args.append(tuning_job)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY trial" if tuning_job is not None else " ORDER BY created DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        with self.db.read() as conn:
            runs = [self._run(r) for r in conn.execute(sql, args).fetchall()]
        return self._reconciled(runs)

    def _stored(self, row: dict[str, Any]) -> dict[str, Any]:
        """Paths inside the workspace as relative ones."""
        for key in _PATHS:
            value = row.get(key)
            if value and Path(value).is_absolute() and self.ws.contains(value):
                row[key] = str(Path(value).resolve().relative_to(self.ws.root))
        return row

    def _run(self, row: sqlite3.Row) -> Run:
        run = _from_row(row)
        for key in _PATHS:
            value = getattr(run, key)
            if value and not Path(value).is_absolute():
                setattr(run, key, str(self.ws.root / value))
        return run

    def _reconciled(self, runs: list[Run]) -> list[Run]:
        """Runs left InProgress by a job whose process died: recorded as Failed (once)."""
        store, ended = None, {}
        for i, run in enumerate(runs):
            if run.status != IN_PROGRESS or not run.job_id:
                continue
            store = store or JobStore(self.ws)
            if run.job_id not in ended:
                job = store.get(run.job_id)
                ended[run.job_id] = job if job is not None and job.finished else None
            job = ended[run.job_id]
            if job is None:
                continue
            reason = job.error or f"Its job {job.job_id} ended ({job.status})."
            if not reason.startswith("Interrupted"):
                reason = f"Interrupted: {reason}"
            runs[i] = self.finish(run.run_id, FAILED, failure=reason)
        return runs

    def mark_best(self, tuning_job: str, objective: str, direction: str) -> Run | None:
        """Flag the completed trial with the best objective (validation metric); return it."""
        trials = [r for r in self.list(tuning_job=tuning_job, status=COMPLETED)
                  if objective in r.validation]
        if not trials:
            return None
        sign = 1 if direction == "Minimize" else -1
        best = min(trials, key=lambda r: (sign * r.validation[objective], r.trial or 0))
        with self.db.write() as conn:
            conn.execute("UPDATE runs SET best = (run_id = ?) WHERE tuning_job = ?",
                         [best.run_id, tuning_job])
        best.best = True
        return best


def _to_row(run: Run) -> dict[str, Any]:
    row = dict(run.__dict__)
    for key in _JSON:
        row[key] = json.dumps(row[key])
    row["best"] = int(bool(row["best"]))
    return row


def _from_row(row: sqlite3.Row) -> Run:
    data = dict(row)
    for key in _JSON:
        data[key] = json.loads(data[key] or "{}")
    data["best"] = bool(data["best"])
    return Run(**data)
