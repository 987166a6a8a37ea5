"""The SageMaker twins' records of what they launched: `<workspace>/aws/runs.db`.

Each time a twin starts something on AWS (a processing, training or tuning job, an
endpoint, feature groups) it records it here: the step it belongs to, the resource's name,
the instance type and count, the price estimate shown before the launch, and the SDK v2
code that ran, with the real names and S3 URIs. When it ends, the twin adds its status and
the billed seconds. Pages show a step's latest records ("the code that ran" on SageMaker,
and what it cost); the cleanup page lists them. It is a plain SQLite file of the workspace:
reading it makes no AWS call.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from lab.aws import prices
from lab.db import Database
from lab.workspace import Workspace

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    step TEXT NOT NULL,            -- the lab step (lab.steps key): processing, training...
    kind TEXT NOT NULL,            -- processing-job, training-job, tuning-job, endpoint...
    name TEXT NOT NULL,            -- the resource's name on AWS
    region TEXT NOT NULL DEFAULT '',
    use TEXT NOT NULL DEFAULT '',  -- price table use: processing, training, hosting
    instance_type TEXT NOT NULL DEFAULT '',
    instance_count INTEGER NOT NULL DEFAULT 0,
    code TEXT NOT NULL DEFAULT '', -- the SDK v2 code that ran, with the real names
    console_url TEXT NOT NULL DEFAULT '',
    job_id TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'InProgress',
    started REAL NOT NULL,
    ended REAL,
    billed_seconds REAL
);
"""


@dataclass(frozen=True)
class LaunchRecord:
    id: int
    step: str
    kind: str
    name: str
    region: str
    use: str
    instance_type: str
    instance_count: int
    code: str
    console_url: str
    job_id: str
    status: str
    started: float
    ended: float | None
    billed_seconds: float | None

    @property
    def estimate(self) -> prices.Estimate | None:
        """The cost of what ran: billed seconds once known, else open-ended (per hour)."""
        if not self.instance_type:
            return None
        return prices.estimate(self.use, self.instance_type, self.instance_count,
                               self.billed_seconds, self.region or None)

    @property
    def summary(self) -> str:
        """One line: what ran, where, how long it was billed and about what it cost."""
        text = f"{self.kind} {self.name}: {self.status}"
        if self.billed_seconds is not None and self.estimate is not None:
            text += f", billed {self.billed_seconds:.0f} s ({self.estimate.text})"
        elif self.estimate is not None:
            text += f" on {self.estimate.text}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "summary": self.summary}


class Ledger:
    def __init__(self, settings: Any) -> None:
        root = settings.root if isinstance(settings, Workspace) else getattr(
            settings, "workspace", settings)
        self.ws = Workspace(root)
        # durable: a launch the ledger lost would cost money unseen (AWS calls take far
        # longer than the fsync anyway)
        self.db = Database(self.ws.path("aws", "runs.db"), _SCHEMA, durable=True)

    def start(self, step: str, kind: str, name: str, *, code: str = "", region: str = "",
              use: str = "", instance_type: str = "", instance_count: int = 0,
              console_url: str = "", job_id: str = "") -> int:
        with self.db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (step, kind, name, region, use, instance_type, "
                "instance_count, code, console_url, job_id, started) VALUES "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (step, kind, name, region, use, instance_type, int(instance_count), code,
                 console_url, job_id, time.time()))
            return int(cursor.lastrowid)

    def finish(self, record_id: int, status: str, billed_seconds: float | None = None) -> None:
        with self.db.write() as conn:
            conn.execute("UPDATE runs SET status = ?, ended = ?, billed_seconds = ? WHERE id = ?",
                         (status, time.time(), billed_seconds, record_id))

    def close(self, kind: str, name: str, status: str,
              billed_seconds: float | None = None) -> None:
        """End the open records of resource `name` (an endpoint updated or deleted, a
        feature group deleted); the newest of them gets `billed_seconds`."""
        with self.db.write() as conn:
            newest = conn.execute("SELECT MAX(id) FROM runs WHERE kind = ? AND name = ? AND "
                                  "ended IS NULL", (kind, name)).fetchone()[0]
            conn.execute("UPDATE runs SET status = ?, ended = ? WHERE kind = ? AND name = ? "
                         "AND ended IS NULL", (status, time.time(), kind, name))
            if newest is not None and billed_seconds is not None:
                conn.execute("UPDATE runs SET billed_seconds = ? WHERE id = ?",
                             (billed_seconds, newest))

    def open_records(self, kind: str | None = None) -> list[LaunchRecord]:
        """What is still running or existing, as far as the records know (no AWS call)."""
        return [r for r in self.list(limit=500) if r.ended is None
                and (kind is None or r.kind == kind)]

    def list(self, step: str | None = None, limit: int = 50) -> list[LaunchRecord]:
        """The newest first (nothing when the workspace never ran anything on AWS)."""
        if not self.db.path.exists():
            return []
        sql, args = "SELECT * FROM runs", ()
        if step is not None:
            sql, args = sql + " WHERE step = ?", (step,)
        with self.db.read() as conn:
            rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [LaunchRecord(**dict(r)) for r in rows]

    def latest(self, step: str) -> list[LaunchRecord]:
        """The newest record of each kind of the step (what its page shows as "the code
        that ran on SageMaker")."""
        seen, out = set(), []
        for record in self.list(step):
            if record.kind not in seen:
                seen.add(record.kind)
                out.append(record)
        return out
