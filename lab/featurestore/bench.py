"""Speed figures of the local feature store, measured, never asserted.

Budgets (from the issue): ingest of the 10,000 processed rows into the offline and online
stores in under 1 s; online get_record p99 under 1 ms in-process; a batch-get of 100
records p99 under 5 ms. The ingest has a naive reference beside it: the same rows written
one INSERT and one commit per row into a SQLite table (WAL, synchronous=NORMAL, as the
online store), the way a loop of put_record calls writes; it covers the online half only,
so it flatters the reference. The figures run in a scratch store under a temporary folder, so
the learner's feature groups gain no history; the workspace's prepared data is used (and
made first when there is none).
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from lab.featurestore import LocalFeatureStore, ingest_prepared, prepared_frames
from lab.processing import load_prepared, run_prep
from lab.settings import Settings
from lab.workspace import Workspace

INGEST_BUDGET_S, GET_BUDGET_MS, BATCH_BUDGET_MS = 1.0, 1.0, 5.0


def row_by_row_seconds(frames: dict[str, Any], path: Path) -> float:
    """Every row of every split written with its own INSERT and commit."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        for split, frame in frames.items():
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            conn.execute(f'CREATE TABLE "{split}" ({columns})')
            insert = (f'INSERT INTO "{split}" VALUES '
                      f'({", ".join("?" * len(frame.columns))})')
            for row in frame.itertuples(index=False):
                conn.execute(insert, tuple(row))  # autocommit: one transaction per row
        return time.perf_counter() - started
    finally:
        conn.close()


def bench_figures(settings: Any, runs: int = 5, gets: int = 2000,
                  batch_gets: int = 300, reference_runs: int = 1) -> list[dict[str, Any]]:
    """[{"name", "unit", "samples", "budget"}] for ingest, get_record and batch-get of 100."""
    source = Workspace(settings.workspace)
    if load_prepared(source.processed_dir) is None:
        run_prep(source)
    with tempfile.TemporaryDirectory(prefix="lab-fs-bench-") as tmp:
        scratch = Settings(workspace=Path(tmp))
        shutil.copytree(source.processed_dir, Workspace(tmp).processed_dir)
        store = LocalFeatureStore(scratch)
        try:
            groups = ingest_prepared(scratch, store=store).groups  # warm-up, creates groups
            frames = prepared_frames(scratch)
            naive = [row_by_row_seconds(frames, Path(tmp) / f"naive{i}.db")
                     for i in range(reference_runs)]
            ingest = [_time(lambda: [store.ingest(groups[s], f) for s, f in frames.items()])
                      for _ in range(runs)]
            train, rows = groups["train"], len(frames["train"])
            rng = random.Random(42)
            for i in range(100):  # warm-up of the read path
                store.get_record(train, i % rows)
            get_ms = [1000 * _time(lambda: store.get_record(train, rng.randrange(rows)))
                      for _ in range(gets)]
            batch_ms = [1000 * _time(lambda: store.batch_get_records(
                train, rng.sample(range(rows), 100))) for _ in range(batch_gets)]
        finally:
            store.close()
    return [
        {"name": "feature store: ingest 10,000 rows (offline + online)", "unit": "s",
         "samples": ingest, "budget": INGEST_BUDGET_S, "reference_samples": naive,
         "reference_what": "one INSERT + commit per row (SQLite, online half only)"},
        {"name": "feature store: online get_record", "unit": "ms", "samples": get_ms,
         "budget": GET_BUDGET_MS},
        {"name": "feature store: online batch-get of 100", "unit": "ms", "samples": batch_ms,
         "budget": BATCH_BUDGET_MS},
    ]


def _time(fn: Any) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started
