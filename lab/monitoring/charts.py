"""Charts of baselines, drift and endpoint traffic (plotly figures, built from results)."""

from __future__ import annotations

from typing import Any

from lab.charts import room_style
from lab.monitoring import drift
from lab.monitoring._api import Baseline, DriftReport, MetricPoint

BASE, BATCH = "#2563eb", "#d97706"
VARIANT_COLOURS = {"AllTraffic": "#2563eb", "blue": "#2563eb", "green": "#16a34a"}


def _colour(variant: str) -> str:
    return VARIANT_COLOURS.get(variant.split("-", 1)[0], "#6b7280")


def distributions(baseline: Baseline, report: DriftReport, feature: str) -> Any:
    """The feature's baseline and batch shares over the baseline's own buckets (and the
    missing values): exactly what its PSI compares."""
    import numpy as np
    import plotly.graph_objects as go

    spec = baseline.feature(feature)
    frame = report.frame
    values = drift.present_values(frame[feature]) if frame is not None and feature in frame else \
        np.array([])
    missing = (len(frame) - len(values)) if frame is not None and feature in frame else 0
    base, batch = drift.shares(spec, values, missing)
    buckets = spec["numerical_statistics"]["distribution"]["kll"]["buckets"]
    labels = [f"{b['lower_bound']:,.4g} – {b['upper_bound']:,.4g}" for b in buckets]
    labels.append("missing")
    found = report.features.get(feature, {})
    fig = go.Figure([go.Bar(x=labels, y=base * 100, name="baseline (training)",
                            marker_color=BASE),
                     go.Bar(x=labels, y=batch * 100, name=report.source, marker_color=BATCH,
                            opacity=0.8)])
    verdict = "drifted" if found.get("drifted") else "no drift"
    ks = found.get("ks")
    fig.update_layout(barmode="group", yaxis_title="% of rows", xaxis_title=feature,
                      title=f"{feature}: PSI {found.get('psi', 0):.3f}, KS "
                            f"{'n/a' if ks is None else f'{ks:.3f}'} ({verdict})")
    return room_style(fig, height=380)


def psi_bars(report: DriftReport) -> Any:
    """PSI per feature against its threshold."""
    import plotly.graph_objects as go

    names = list(report.features)
    values = [report.features[n]["psi"] for n in names]
    colours = [BATCH if report.features[n]["drifted"] else BASE for n in names]
    fig = go.Figure(go.Bar(x=names, y=values, marker_color=colours,
                           text=[f"{v:.3f}" for v in values]))
    fig.add_hline(y=report.thresholds["psi"], line_dash="dash", line_color="#dc2626",
                  annotation_text=f"threshold {report.thresholds['psi']:g}")
    fig.update_layout(title=f"PSI per feature: {report.source} ({report.changes})",
                      yaxis_title="PSI")
    return room_style(fig, height=360)


def traffic(points: list[MetricPoint]) -> Any:
    """Requests per second, error rate and p50/p99 latency over time, per variant."""
    import pandas as pd
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("Requests per second", "Error rate (%)",
                                        "Latency (ms): p50 solid, p99 dotted"))
    for variant in sorted({p.variant for p in points}):
        mine = [p for p in points if p.variant == variant]
        when = pd.to_datetime([p.time for p in mine], unit="s")
        colour = _colour(variant)
        fig.add_trace(go.Scatter(x=when, y=[p.requests / p.period_s for p in mine],
                                 name=variant, mode="lines+markers", line_color=colour,
                                 legendgroup=variant), row=1, col=1)
        fig.add_trace(go.Scatter(x=when, y=[100 * p.errors / p.requests if p.requests else None
                                            for p in mine], name=variant, mode="lines+markers",
                                 line_color=colour, legendgroup=variant, showlegend=False),
                      row=2, col=1)
        for field, dash in (("p50_ms", "solid"), ("p99_ms", "dot")):
            fig.add_trace(go.Scatter(x=when, y=[getattr(p, field) for p in mine],
                                     name=f"{variant} {field[:3]}", mode="lines",
                                     line=dict(color=colour, dash=dash), legendgroup=variant,
                                     showlegend=False), row=3, col=1)
    fig.update_layout(title="Endpoint traffic")
    fig.update_yaxes(rangemode="tozero")
    return room_style(fig, height=640)
