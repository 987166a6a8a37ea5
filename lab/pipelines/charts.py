"""The pipeline drawn from its definition (DOT), coloured by live status; an execution's Gantt.

Colours: grey not started, blue executing, green succeeded, red failed, amber stopped; a
cache hit is green with a double border and "cached" in its label. A condition says its
outcome in words and colour: green "true" or orange "false", with both of its branches
drawn (an empty else branch as a note, "nothing runs: no model registered"), the branch
taken bold and the other dashed. A step the condition did not choose stays grey with a
dashed border ("not executed"). The step picked below the graph gets a thick purple
border, which no status uses.
"""

from __future__ import annotations

from typing import Any

from lab.charts import room_style
from lab.formats import number, seconds
from lab.pipelines._store import Execution
from lab.pipelines.definition import ConditionStep, PipelineDef, Prop

FILL = {"NotStarted": "#e5e7eb", "Executing": "#93c5fd", "Succeeded": "#86efac",
        "Failed": "#fca5a5", "Stopped": "#fcd34d"}
CONDITION_FALSE = "#fdba74"  # orange: the condition ran and was false
SELECTED = "#7c3aed"  # purple: the step shown in the details (no status uses it)
TAKEN, NOT_TAKEN = "#111827", "#9ca3af"
SHAPES = {"processing": "box", "training": "box", "evaluation": "box", "register": "box",
          "condition": "diamond", "latest_approved": "box", "deploy": "box"}
_OPS = {"LessThanOrEqualTo": "<=", "GreaterThanOrEqualTo": ">=", "LessThan": "<",
        "GreaterThan": ">"}
_NEGATED = {"<=": ">", ">=": "<", "<": ">=", ">": "<="}


def step_state(execution: Execution | None, name: str) -> tuple[str, bool]:
    """(status, cache hit) of a step in an execution; NotStarted when it has no record."""
    rec = execution.steps.get(name) if execution else None
    if rec is None:
        return "NotStarted", False
    return rec.status, rec.cache_hit


def condition_outcome(execution: Execution | None, step: ConditionStep) -> dict | None:
    """How a condition step came out: {"holds", "left", "right", "text"}, or None before it
    ran. `text` says it in words: "335,578,021 > 320,000,000: false"."""
    rec = execution.steps.get(step.name) if execution else None
    if rec is None or "outcome" not in (rec.outputs or {}):
        return None
    holds = bool(rec.outputs["outcome"])
    left, right = rec.outputs.get("left"), rec.outputs.get("right")
    op = _OPS.get(step.op, step.op)
    shown = op if holds else _NEGATED.get(op, f"not {op}")
    return {"holds": holds, "left": left, "right": right,
            "text": f"{number(left)} {shown} {number(right)}: {'true' if holds else 'false'}"}


def dag_dot(defn: PipelineDef, execution: Execution | None = None,
            selected: str | None = None) -> str:
    # top to bottom: drawn beside the step details, the labels keep their size
    lines = [f'digraph "{defn.name}" {{', "  rankdir=TB; nodesep=0.35; ranksep=0.45;",
             '  node [style="rounded,filled", fontname="Helvetica", fontsize=14];',
             '  edge [fontname="Helvetica", fontsize=12, color="#6b7280"];']
    finished = execution is not None and execution.finished
    outcomes = {s.name: condition_outcome(execution, s) for s in defn.steps
                if isinstance(s, ConditionStep)}
    not_chosen = {t for s in defn.steps if isinstance(s, ConditionStep) and outcomes[s.name]
                  for t in (s.else_steps if outcomes[s.name]["holds"] else s.if_steps)}
    for step in defn.steps:
        status, hit = step_state(execution, step.name)
        label = f"{step.name}\\n({step.kind})"
        style = "rounded,filled"
        fill = FILL[status]
        extra = ""
        outcome = outcomes.get(step.name)
        if hit:
            label += "\\ncached"
            extra = ", peripheries=2"
        elif outcome is not None:  # short in the diamond; the numbers go on the branch taken
            label += "\\n" + ("TRUE" if outcome["holds"] else "FALSE")
            fill = FILL["Succeeded"] if outcome["holds"] else CONDITION_FALSE
        elif status == "NotStarted" and (finished or step.name in not_chosen):
            label += "\\nnot executed" + (" (condition false)" if step.name in not_chosen
                                           and not _holds_for(defn, outcomes, step.name)
                                           else "")
            style = "rounded,filled,dashed"
        else:
            label += f"\\n{status}" if status != "NotStarted" else ""
        if step.name == selected:
            extra += f', color="{SELECTED}", penwidth=4'
        shape = SHAPES.get(step.kind, "box")
        if isinstance(step, ConditionStep):
            style = style.replace("rounded,", "")
        lines.append(f'  "{step.name}" [label="{label}", shape={shape}, style="{style}", '
                     f'fillcolor="{fill}"{extra}];')
    for src, dst, label in defn.edges():
        attrs = [f'label="{label}"'] if label else []
        passed = _passed(defn, src, dst)
        if passed and not label:  # what flows along the edge: why dst runs after src
            attrs = [f'label="{passed}"', 'fontcolor="#4b5563"']
        cond = outcomes.get(src)
        if label and cond is not None:
            taken = cond["holds"] == (label == "if true")
            if taken:
                attrs = [f'label="{label}\\n{_numbers(cond)}"', f'color="{TAKEN}"',
                         "penwidth=2.5"]
            else:
                attrs += [f'color="{NOT_TAKEN}"', "style=dashed", f'fontcolor="{NOT_TAKEN}"']
        lines.append(f'  "{src}" -> "{dst}"' + (f" [{', '.join(attrs)}]" if attrs else "")
                     + ";")
    for step in defn.steps:  # an empty else branch is drawn too: what happens when false
        if isinstance(step, ConditionStep) and not step.else_steps:
            lines += _empty_else(step, outcomes.get(step.name))
    lines.append("}")
    return "\n".join(lines)


def _numbers(outcome: dict) -> str:
    """"335,578,021 > 320,000,000": the comparison as it came out."""
    return outcome["text"].rsplit(":", 1)[0]


def _passed(defn: PipelineDef, src: str, dst: str) -> str:
    """The properties `dst` reads from `src` (its data dependency), as an edge label."""

    step = defn.step(dst)
    if isinstance(step, ConditionStep):
        return f"JsonGet({step.left.property_file})" if step.left.step == src else ""
    return ", ".join(k for k, v in step.inputs.items() if isinstance(v, Prop) and v.step == src)


def _holds_for(defn: PipelineDef, outcomes: dict, name: str) -> bool:
    """Whether the condition gating `name` chose it (True when nothing gates it)."""
    for s in defn.steps:
        if isinstance(s, ConditionStep) and outcomes.get(s.name) and name in (
                *s.if_steps, *s.else_steps):
            return outcomes[s.name]["holds"] == (name in s.if_steps)
    return True


def _empty_else(step: ConditionStep, outcome: dict | None) -> list[str]:
    node = f"{step.name}__else"
    taken = outcome is not None and not outcome["holds"]
    text = "else: no steps\\n(" + ", ".join(step.if_steps) + " skipped)"
    fill = CONDITION_FALSE if taken else "#ffffff"
    edge = ([f'label="else\\n{_numbers(outcome)}"', f'color="{TAKEN}"', "penwidth=2.5"]
            if taken else ['label="else"', f'color="{NOT_TAKEN}"', "style=dashed",
                           f'fontcolor="{NOT_TAKEN}"'])
    return [f'  "{node}" [label="{text}", shape=note, style="filled", fillcolor="{fill}", '
            'fontsize=13];',
            f'  "{step.name}" -> "{node}" [{", ".join(edge)}];']


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
                      title=f"Timeline of {execution.id} ({seconds(execution.duration_s)})")
    fig.update_yaxes(autorange="reversed", title_text="")
    room_style(fig, height=170 + 45 * max(1, len(rows)))
    return fig
