"""Pipeline executions and their steps, in SQLite (`<workspace>/pipelines.db`, WAL).

Any process may read it while an execution runs (the page polls it); writes are short
transactions with a busy timeout, so two executions launched at once both record.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from lab.db import Database
from lab.workspace import Workspace

EXECUTING, SUCCEEDED, FAILED, STOPPED = "Executing", "Succeeded", "Failed", "Stopped"
FINISHED = (SUCCEEDED, FAILED, STOPPED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY, pipeline TEXT, parameters TEXT, status TEXT, started REAL,
    ended REAL, job_id TEXT, failure TEXT);
CREATE TABLE IF NOT EXISTS steps (
    execution TEXT, name TEXT, kind TEXT, status TEXT, started REAL, ended REAL,
    cache_key TEXT, cache_source TEXT, inputs TEXT, outputs TEXT, metrics TEXT,
    log_path TEXT, failure TEXT, PRIMARY KEY (execution, name));
CREATE INDEX IF NOT EXISTS steps_cache ON steps (name, cache_key, status);
CREATE TABLE IF NOT EXISTS remote (execution TEXT PRIMARY KEY, arn TEXT);
"""


@dataclass
class StepRecord:
    execution: str
    name: str
    kind: str
    status: str
    started: float
    ended: float | None = None
    cache_key: str | None = None
    cache_source: str | None = None  # the execution whose outputs a cache hit reuses
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    log_path: str | None = None
    failure: str | None = None

    @property
    def cache_hit(self) -> bool:
        return self.cache_source is not None

    @property
    def duration_s(self) -> float:
        return (self.ended or time.time()) - self.started

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "cache_hit": self.cache_hit,
                "duration_s": round(self.duration_s, 3)}


@dataclass
class Execution:
    id: str
    pipeline: str
    parameters: dict[str, Any]
    status: str
    started: float
    ended: float | None = None
    job_id: str | None = None
    failure: str | None = None
    steps: dict[str, StepRecord] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def duration_s(self) -> float:
        return (self.ended or time.time()) - self.started

    @property
    def cache_hits(self) -> int:
        return sum(s.cache_hit for s in self.steps.values())

    def to_json(self) -> dict[str, Any]:
        return {"execution_id": self.id, "pipeline": self.pipeline, "status": self.status,
                "parameters": self.parameters, "started": self.started, "ended": self.ended,
                "duration_s": round(self.duration_s, 3), "job_id": self.job_id,
                "failure": self.failure, "cache_hits": self.cache_hits,
                "steps": {n: s.to_json() for n, s in self.steps.items()}}


class PipelineStore:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self.path = ws.path("pipelines.db")
        self.db = Database(self.path, _SCHEMA)

    def create_execution(self, pipeline: str, parameters: dict[str, Any],
                         job_id: str | None = None) -> Execution:
        ex = Execution(id=f"{pipeline.split('-')[-1]}-{time.strftime('%Y%m%d-%H%M%S')}-"
                          f"{uuid.uuid4().hex[:6]}", pipeline=pipeline, parameters=parameters,
                       status=EXECUTING, started=time.time(), job_id=job_id)
        with self.db.write() as c:
            c.execute("INSERT INTO executions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      (ex.id, pipeline, json.dumps(parameters), ex.status, ex.started, None,
                       job_id, None))
        return ex

    def for_job(self, job_id: str) -> Execution | None:
        """The execution a job ran (None while the job waits to start)."""
        if not self.path.exists():
            return None
        with self.db.read() as c:
            row = c.execute("SELECT id FROM executions WHERE job_id = ?", (job_id,)).fetchone()
        return self.get(row[0]) if row else None

    def finish_execution(self, execution: str, status: str, failure: str | None = None) -> None:
        """Record how an execution ended; a step still Executing then (its process died)
        ends with it, with the same status and reason."""
        now = time.time()
        with self.db.write() as c:
            c.execute("UPDATE executions SET status = ?, ended = ?, failure = ? WHERE id = ?",
                      (status, now, failure, execution))
            if status != SUCCEEDED:
                c.execute("UPDATE steps SET status = ?, ended = ?, failure = coalesce(failure, ?) "
                          "WHERE execution = ? AND status = ?",
                          (status, now, failure, execution, EXECUTING))

    def set_remote(self, execution: str, arn: str) -> None:
        """The SageMaker execution ARN an execution of the lab follows."""
        with self.db.write() as c:
            c.execute("INSERT OR REPLACE INTO remote VALUES (?, ?)", (execution, arn))

    def remote(self, execution: str) -> str | None:
        with self.db.read() as c:
            row = c.execute("SELECT arn FROM remote WHERE execution = ?",
                            (execution,)).fetchone()
        return row[0] if row else None

    def reopen(self, execution: str, job_id: str) -> None:
        """A retried execution runs again, followed by the retry's job."""
        with self.db.write() as c:
            c.execute("UPDATE executions SET status = ?, ended = NULL, failure = NULL, "
                      "job_id = ? WHERE id = ?", (EXECUTING, job_id, execution))

    def save_step(self, rec: StepRecord) -> None:
        with self.db.write() as c:
            c.execute("INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (rec.execution, rec.name, rec.kind, rec.status, rec.started, rec.ended,
                       rec.cache_key, rec.cache_source, json.dumps(rec.inputs, default=str),
                       json.dumps(rec.outputs, default=str), json.dumps(rec.metrics),
                       rec.log_path, rec.failure))

    def cache_lookup(self, pipeline: str, step: str, key: str, expiry_s: float,
                     exclude: str) -> StepRecord | None:
        """The newest Succeeded run of `step` with `key` within the expiry (SageMaker's rule)."""
        with self.db.read() as c:
            row = c.execute(
                "SELECT s.* FROM steps s JOIN executions e ON e.id = s.execution "
                "WHERE e.pipeline = ? AND s.name = ? AND s.cache_key = ? AND s.status = ? "
                "AND s.ended >= ? AND s.execution != ? ORDER BY s.ended DESC LIMIT 1",
                (pipeline, step, key, SUCCEEDED, time.time() - expiry_s, exclude)).fetchone()
        return _step(row) if row else None

    def get(self, execution: str) -> Execution | None:
        if not self.path.exists():  # a read never creates the database
            return None
        with self.db.read() as c:
            row = c.execute("SELECT * FROM executions WHERE id = ?", (execution,)).fetchone()
            if row is None:
                return None
            steps = c.execute("SELECT * FROM steps WHERE execution = ? ORDER BY started",
                              (execution,)).fetchall()
        ex = _execution(row)
        ex.steps = {s["name"]: _step(s) for s in steps}
        return ex

    def list(self, pipeline: str | None = None, limit: int = 50) -> list[Execution]:
        if not self.path.exists():
            return []
        with self.db.read() as c:
            ids = [r[0] for r in c.execute(
                "SELECT id FROM executions WHERE ? IS NULL OR pipeline = ? "
                "ORDER BY started DESC LIMIT ?", (pipeline, pipeline, limit))]
        return [e for e in (self.get(i) for i in ids) if e]


def _execution(row) -> Execution:
    return Execution(id=row["id"], pipeline=row["pipeline"],
                     parameters=json.loads(row["parameters"]), status=row["status"],
                     started=row["started"], ended=row["ended"], job_id=row["job_id"],
                     failure=row["failure"])


def _step(row) -> StepRecord:
    return StepRecord(execution=row["execution"], name=row["name"], kind=row["kind"],
                      status=row["status"], started=row["started"], ended=row["ended"],
                      cache_key=row["cache_key"], cache_source=row["cache_source"],
                      inputs=json.loads(row["inputs"] or "{}"),
                      outputs=json.loads(row["outputs"] or "{}"),
                      metrics=json.loads(row["metrics"] or "{}"), log_path=row["log_path"],
                      failure=row["failure"])
