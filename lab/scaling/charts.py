"""The speed-up chart: seconds of processing and training against the number of workers."""

from __future__ import annotations

from typing import Any

from lab.charts import room_style

_COLOURS = {"processing": "#2563eb", "training": "#16a34a"}


def speedup_chart(result: dict[str, Any]):
    """Measured seconds per step (solid), and what perfect scaling from one worker would
    give (dotted: the first point's time divided by the workers), from a scale job's result."""
    import plotly.graph_objects as go

    points = result["points"]
    workers = [p["workers"] for p in points]
    fig = go.Figure()
    for step in ("processing", "training"):
        seconds = [p[f"{step}_s"] for p in points]
        fig.add_trace(go.Scatter(x=workers, y=seconds, mode="lines+markers+text",
                                 name=f"{step} (measured)", line_color=_COLOURS[step],
                                 text=[f"{s:.1f} s" for s in seconds],
                                 textposition="top center"))
        base = seconds[0] * workers[0]
        fig.add_trace(go.Scatter(x=workers, y=[base / w for w in workers], mode="lines",
                                 name=f"{step} (perfect scaling)",
                                 line=dict(color=_COLOURS[step], dash="dot")))
    fig.update_layout(title=f"{result['rows']:,} rows on {result['cores']} core(s): time "
                            "against workers",
                      xaxis_title="workers (local processes; instances on SageMaker)",
                      yaxis_title="seconds", yaxis_rangemode="tozero")
    fig.update_xaxes(tickvals=workers)
    return room_style(fig, height=420)
