"""The lab's map: stages of MLOps adoption and the steps under each.

The app's navigation, the Home page's map and the sidebar's progress all read this one
list, so a step added here shows up everywhere. `built` is False for steps whose page
says plainly that it is not built yet.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from lab.workspace import Workspace

STAGES = ("Initial", "Repeatable", "Reliable", "Scalable")


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    stage: str
    page: str  # file under pages/
    icon: str
    summary: str
    built: bool
    done: Callable[[Workspace], bool] = lambda ws: False


def _prepared(ws: Workspace) -> bool:
    return (ws.processed_dir / "meta" / "prep.json").exists()


# The sidebar computes progress on every page of every session, so these checks read the
# steps' SQLite files directly (read-only) instead of importing lab.training, lab.serving or
# lab.pipelines, which pull in scikit-learn and DuckDB (about 2.5 s on a first page load).
def _any_row(ws: Workspace, db: str, sql: str, params: tuple = ()) -> bool:
    path = ws.root / db
    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True,
                                                timeout=2)) as conn:
            return conn.execute(sql, params).fetchone() is not None
    except sqlite3.Error:
        return False


def _pipeline_succeeded(ws: Workspace) -> bool:
    return _any_row(ws, "pipelines.db", "SELECT 1 FROM executions WHERE pipeline = ? AND "
                    "status = 'Succeeded' LIMIT 1", ("lab-housing-pipeline",))


def _deployed(ws: Workspace) -> bool:
    return _any_row(ws, "endpoints.db", "SELECT 1 FROM endpoints WHERE status IN "
                    "('InService', 'Updating') LIMIT 1")


def _trained(ws: Workspace) -> bool:
    return _any_row(ws, "experiments.db", "SELECT 1 FROM runs WHERE status = 'Completed' "
                    "LIMIT 1")


def _ingested(ws: Workspace) -> bool:
    """Some feature group holds offline data (however it was ingested: page, CLI, training
    page's shortcut)."""
    offline = ws.root / "featurestore" / "offline"
    return offline.is_dir() and any(p.is_dir() and any(p.iterdir()) for p in offline.iterdir())


def _processing_job_matched(ws: Workspace) -> bool:
    from lab.jobs import COMPLETED, JobStore

    return any(j.status == COMPLETED and (j.result or {}).get("match")
               for j in JobStore(ws).list("processing"))


STEPS: tuple[Step, ...] = (
    Step("data", "Explore the data", "Initial", "data.py", ":material/table_chart:",
         "The housing dataset (or your own CSV): table, statistics, distributions.", True,
         lambda ws: (ws.raw_dir / "datasets.json").exists()),
    Step("prep", "Prepare the data", "Initial", "prep.py", ":material/tune:",
         "Split 60/20/20 and scale, in-process and as a processing job.", True, _prepared),
    Step("processing", "Processing job", "Initial", "prep.py", ":material/memory:",
         "The same script as a job, checked against the in-process run.", True,
         _processing_job_matched),
    Step("features", "Feature Store", "Initial", "feature_store.py", ":material/database:",
         "Offline (SQL) and online (low-latency) feature groups.", True, lambda ws: _ingested(ws)),
    Step("training", "Training & experiments", "Initial", "training.py",
         ":material/model_training:",
         "Training jobs, experiment tracking, hyperparameter tuning.", True,
         lambda ws: _trained(ws)),
    Step("registry", "Registry & deployment", "Initial", "registry.py", ":material/rocket_launch:",
         "Model registry with approval, real-time endpoint.", True, lambda ws: _deployed(ws)),
    Step("pipelines", "Pipelines", "Repeatable", "pipelines.py", ":material/account_tree:",
         "One pipeline: process, train, evaluate, condition, register; step caching.", True,
         lambda ws: _pipeline_succeeded(ws)),
)


def steps_of(stage: str) -> list[Step]:
    return [s for s in STEPS if s.stage == stage]


def progress(ws: Workspace) -> dict[str, bool]:
    """Which steps this workspace has done (cheap file checks, safe on every rerun)."""
    return {s.key: bool(s.built and s.done(ws)) for s in STEPS}


_STAGE_COLOURS = {"Initial": "#dbeafe", "Repeatable": "#dcfce7", "Reliable": "#fef9c3",
                  "Scalable": "#fce7f3"}


def map_dot(done: dict[str, bool]) -> str:
    """The lab's steps as a DOT graph, one cluster per stage, done steps marked."""
    lines = ["digraph lab {", "  rankdir=TB; compound=true; nodesep=0.3; ranksep=0.3;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];']
    for stage in STAGES:
        lines.append(f'  subgraph cluster_{stage.lower()} {{ label="{stage}"; '
                     f'style="rounded"; color="#9ca3af"; fontname="Helvetica";')
        members = steps_of(stage)
        if not members:
            lines.append(f'    {stage.lower()}_none [label="(explained, no steps)", '
                         'style="dashed,rounded", fillcolor="#ffffff"];')
        for s in members:
            mark = "(done) " if done.get(s.key) else ("" if s.built else "(not built yet) ")
            fill = _STAGE_COLOURS[stage] if s.built else "#f3f4f6"
            lines.append(f'    {s.key} [label="{mark}{s.title}", fillcolor="{fill}"];')
        lines.append("  }")
    chain = [s.key for s in STEPS]
    lines.append("  " + " -> ".join(chain) + ";")
    lines.append(f"  {chain[-1]} -> reliable_none [style=dashed];")
    lines.append("  reliable_none -> scalable_none [style=dashed];")
    lines.append("}")
    return "\n".join(lines)
