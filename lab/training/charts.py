"""Plotly figures and tables of training runs and tuning jobs, built from recorded runs.

Every figure holds the run's own numbers (tests read the figure JSON). Curves are RMSE in
the target's unit (dollars for PRICE): MSE values of 1e8 are hard to read on an axis.
"""

from __future__ import annotations

from typing import Any

from lab.charts import room_style
from lab.formats import number
from lab.training._api import ALGORITHMS
from lab.training.experiments import COMPLETED, Run

HEIGHT = 420


def run_label(run: Run) -> str:
    if run.trial is not None:
        return f"trial {run.trial}" + (" (best)" if run.best else "")
    return f"{run.algorithm} {run.run_id[-6:]}"


def learning_curves(runs: list[Run]):
    """Validation RMSE (solid) and train RMSE (dotted) per step, one colour per run."""
    import plotly.graph_objects as go
    from plotly.colors import qualitative

    fig = go.Figure()
    axes = set()
    for i, run in enumerate(r for r in runs if r.curve.get("step")):
        colour = qualitative.Plotly[i % len(qualitative.Plotly)]
        axes.add(ALGORITHMS[run.algorithm].curve_axis if run.algorithm in ALGORITHMS else "step")
        label = run_label(run)
        fig.add_trace(go.Scatter(x=run.curve["step"], y=run.curve["validation-rmse"],
                                 name=f"{label} validation", mode="lines",
                                 line=dict(color=colour)))
        fig.add_trace(go.Scatter(x=run.curve["step"], y=run.curve["train-rmse"],
                                 name=f"{label} train", mode="lines",
                                 line=dict(color=colour, dash="dot")))
    fig.update_layout(title="Learning curve: RMSE by step", xaxis_title=" / ".join(sorted(axes))
                      or "step", yaxis_title="RMSE")
    return room_style(fig, whole_axes=("y",), height=HEIGHT)


def predicted_vs_actual(run: Run, predictions: dict[str, list[float]]):
    import plotly.graph_objects as go

    actual, predicted = predictions["actual"], predictions["predicted"]
    low, high = min(actual + predicted), max(actual + predicted)
    fig = go.Figure([
        go.Scatter(x=actual, y=predicted, mode="markers", name="test rows",
                   marker=dict(size=4, opacity=0.45)),
        go.Scatter(x=[low, high], y=[low, high], mode="lines", name="perfect prediction",
                   line=dict(color="#6b7280", dash="dash")),
    ])
    fig.update_layout(title=f"Predicted vs actual, test split ({run_label(run)})",
                      xaxis_title="actual", yaxis_title="predicted")
    return room_style(fig, whole_axes=("x", "y"), height=HEIGHT)


def residuals(run: Run, predictions: dict[str, list[float]]):
    """Residual (actual - predicted) against the prediction: structure here means bias."""
    import plotly.graph_objects as go

    actual, predicted = predictions["actual"], predictions["predicted"]
    errors = [a - p for a, p in zip(actual, predicted)]
    fig = go.Figure([
        go.Scatter(x=predicted, y=errors, mode="markers", name="residual",
                   marker=dict(size=4, opacity=0.45, color="#d97706")),
        go.Scatter(x=[min(predicted), max(predicted)], y=[0, 0], mode="lines", name="zero",
                   line=dict(color="#6b7280", dash="dash")),
    ])
    fig.update_layout(title=f"Residuals, test split ({run_label(run)})",
                      xaxis_title="predicted", yaxis_title="actual - predicted")
    return room_style(fig, whole_axes=("x", "y"), height=HEIGHT)


def feature_importance(run: Run):
    import plotly.graph_objects as go

    total = sum(run.importance.values()) or 1.0
    items = sorted(run.importance.items(), key=lambda kv: kv[1])
    kind = "gain" if run.algorithm == "xgboost" else "impurity decrease"
    fig = go.Figure(go.Bar(x=[v / total for _, v in items], y=[k for k, _ in items],
                           orientation="h", marker_color="#2563eb"))
    fig.update_layout(title=f"Feature importance ({kind}, share of total)",
                      xaxis_title="share", showlegend=False)
    return room_style(fig, height=HEIGHT)


def comparison_rows(runs: list[Run]) -> list[dict[str, Any]]:
    """Parameters and metrics side by side: one row per name, one column per run, and
    `differs` set where the runs do not all agree (the rows worth looking at)."""
    labels = [run_label(r) for r in runs]
    rows = []

    def add(section: str, name: str, values: list[Any]) -> None:
        shown = [_fmt(v) for v in values]
        row = {"section": section, "name": name, "differs": len(set(shown)) > 1}
        row.update(zip(labels, shown))
        rows.append(row)

    add("run", "algorithm", [r.algorithm for r in runs])
    add("run", "status", [r.status for r in runs])
    for name in sorted({k for r in runs for k in r.params}):
        add("parameter", name, [r.params.get(name) for r in runs])
    for name in ("mse", "rmse", "r2", "mae"):
        add("test metric", name, [r.metrics.get(name) for r in runs])
    for name in sorted({k for r in runs for k in r.validation}):
        add("validation metric", name, [r.validation.get(name) for r in runs])
    return rows


def _fmt(value: Any) -> str:
    return number(value)


def trials_table(trials: list[Run], objective: str, direction: str) -> list[dict[str, Any]]:
    """Trials sorted by the objective (best first); unfinished and failed ones last."""
    sign = 1 if direction == "Minimize" else -1
    done = sorted((t for t in trials if objective in t.validation),
                  key=lambda t: sign * t.validation[objective])
    rest = [t for t in trials if objective not in t.validation]
    rows = []
    for t in done + rest:
        rows.append({"trial": t.trial, "best": "★" if t.best else "", "status": t.status,
                     objective: t.validation.get(objective), **t.params,
                     "test mse": t.metrics.get("mse"), "seconds": round(t.duration_s, 1),
                     "failure": t.failure or ""})
    return rows


def objective_over_trials(trials: list[Run], objective: str, direction: str):
    """Each trial's objective in trial order, and the best so far."""
    import plotly.graph_objects as go

    done = sorted((t for t in trials if t.status == COMPLETED and objective in t.validation),
                  key=lambda t: t.trial or 0)
    xs, ys = [t.trial for t in done], [t.validation[objective] for t in done]
    pick = min if direction == "Minimize" else max
    best = [pick(ys[: i + 1]) for i in range(len(ys))]
    fig = go.Figure([
        go.Scatter(x=xs, y=ys, mode="markers", name=f"trial {objective}",
                   marker=dict(size=10, color="#2563eb")),
        go.Scatter(x=xs, y=best, mode="lines", name="best so far", line=dict(shape="hv")),
    ])
    fig.update_layout(title=f"Validation {objective} by trial ({direction.lower()})",
                      xaxis_title="trial", yaxis_title=objective)
    fig.update_xaxes(dtick=1)
    return room_style(fig, whole_axes=("y",) if objective != "r2" else (), height=HEIGHT)


def parallel_coordinates(trials: list[Run], names: list[str], objective: str):
    """One line per completed trial through its tuned hyperparameters to its objective."""
    import plotly.graph_objects as go

    done = [t for t in trials if t.status == COMPLETED and objective in t.validation]
    dimensions = []
    for name in names:
        values = [t.params.get(name) for t in done]
        if all(isinstance(v, (int, float)) for v in values):
            dimensions.append(dict(label=name, values=values))
        else:  # categorical: plotted at positions, labelled with the values
            levels = sorted({str(v) for v in values})
            dimensions.append(dict(label=name, values=[levels.index(str(v)) for v in values],
                                   tickvals=list(range(len(levels))), ticktext=levels))
    scores = [t.validation[objective] for t in done]
    dimensions.append(dict(label=objective, values=scores))
    fig = go.Figure(go.Parcoords(line=dict(color=scores, colorscale="Viridis_r",
                                           showscale=True), dimensions=dimensions))
    fig.update_layout(title=dict(text=f"Hyperparameters against {objective}", y=0.98))
    room_style(fig, height=HEIGHT)
    fig.update_layout(margin=dict(t=110, b=20, l=60, r=60))
    return fig
