"""The pipeline drawn from its definition (DOT), coloured by live status; an execution's Gantt.

Colours: grey not started, blue executing, green succeeded, red failed, amber stopped; a
cache hit is green with a double border and "cached" in its label. A step the condition
did not choose stays grey with a dashed border ("not executed").
"""

from __future__ import annotations

from typing import Any

from lab.pipelines._store import Execution
from lab.pipelines.definition import ConditionStep, PipelineDef

FILL = {"NotStarted": "#e5e7eb", "Executing": "#93c5fd", "Succeeded": "#86efac",
        "Failed": "#fca5a5", "Stopped": "#fcd34d"}
SHAPES = {"processing": "box", "training": "box", "evaluation": "box", "register": "box",
          "condition": "diamond", "latest_approved": "box", "deploy": "box"}


def step_state(execution: Execution | None, name: str) -> tuple[str, bool]:
    """(status, cache hit) of a step in an execution; NotStarted when it has no record."""
    rec = execution.steps.get(name) if execution else None
    if rec is None:
        return "NotStarted", False
    return rec.status, rec.cache_hit


def dag_dot(defn: PipelineDef, execution: Execution | None = None,
            selected: str | None = None) -> str:
    lines = [f'digraph "{defn.name}" {{', "  rankdir=LR; nodesep=0.35; ranksep=0.45;",
             '  node [style="rounded,filled", fontname="Helvetica", fontsize=11];',
             '  edge [fontname="Helvetica", fontsize=9, color="#6b7280"];']
    finished = execution is not None and execution.finished
    for step in defn.steps:
        status, hit = step_state(execution, step.name)
        label = f"{step.name}\\n({step.kind})"
        style = "rounded,filled"
        extra = ""
        if hit:
            label += "\\ncached"
            extra = ", peripheries=2"
        elif status == "NotStarted" and finished:
            label += "\\nnot executed"
            style = "rounded,filled,dashed"
        else:
            label += f"\\n{status}" if status != "NotStarted" else ""
        if step.name == selected:
            extra += ", penwidth=3"
        shape = SHAPES.get(step.kind, "box")
        if isinstance(step, ConditionStep):
            style = style.replace("rounded,", "")
        lines.append(f'  "{step.name}" [label="{label}", shape={shape}, style="{style}", '
                     f'fillcolor="{FILL[status]}"{extra}];')
    for src, dst, label in defn.edges():
        lines.append(f'  "{src}" -> "{dst}"' + (f' [label="{label}"]' if label else "") + ";")
    lines.append("}")
    return "\n".join(lines)


def gantt(execution: Execution) -> Any:
    """A timeline of the execution's steps (plotly), cache hits marked."""
    import pandas as pd
    import plotly.express as px

    rows = []
    for rec in sorted(execution.steps.values(), key=lambda r: r.started):
        end = rec.ended or max(rec.started, execution.ended or rec.started) + 0.05
        rows.append({"step": rec.name, "start": pd.to_datetime(rec.started, unit="s"),
                     "end": pd.to_datetime(max(end, rec.started + 0.02), unit="s"),
                     "status": "Cache hit" if rec.cache_hit else rec.status,
                     "seconds": round(rec.duration_s, 3)})
    frame = pd.DataFrame(rows, columns=["step", "start", "end", "status", "seconds"])
    colours = {**FILL, "Cache hit": "#bbf7d0", "Succeeded": "#22c55e", "Failed": "#ef4444",
               "Executing": "#3b82f6"}
    fig = px.timeline(frame, x_start="start", x_end="end", y="step", color="status",
                      hover_data=["seconds"], color_discrete_map=colours,
                      title=f"Timeline of {execution.id} ({execution.duration_s:.2f} s)")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(height=120 + 40 * max(1, len(rows)), margin=dict(t=50, b=10))
    return fig
