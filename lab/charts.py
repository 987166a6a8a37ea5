"""Plotly figures built from the lab's real results (figures are data: no UI here).

Pages render them with `st.plotly_chart`; tests read the figure JSON and check it holds
the numbers of the run it came from.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lab.formats import AXIS_FORMAT

FONT_SIZE = 15  # readable from the back of a room (Plotly's default is 12)
TITLE_SIZE = 19
_SPLIT_COLOURS = {"train": "#2563eb", "validation": "#16a34a", "test": "#d97706"}


def room_style(fig, *, whole_axes: tuple[str, ...] = (), height: int | None = None):
    """The lab's look for every chart: larger fonts, a legend above the plot (not beside it,
    where it eats the plot's width), and `whole_axes` ("x", "y") in the lab's number format
    (335,578,021 rather than 335.578M or 3.35e+08)."""
    fig.update_layout(font=dict(size=FONT_SIZE), title_font=dict(size=TITLE_SIZE),
                      separators=".,", hoverlabel=dict(font_size=FONT_SIZE),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left",
                                  x=0, title_text=""),
                      margin=dict(t=90, b=10, l=10, r=10))
    fig.update_xaxes(tickfont_size=FONT_SIZE - 1, title_font_size=FONT_SIZE)
    fig.update_yaxes(tickfont_size=FONT_SIZE - 1, title_font_size=FONT_SIZE)
    if height:
        fig.update_layout(height=height)
    for axis in whole_axes:
        update = fig.update_xaxes if axis == "x" else fig.update_yaxes
        update(tickformat=AXIS_FORMAT, hoverformat=AXIS_FORMAT)
    return fig


def large(values) -> bool:
    """Values shown whole on an axis (prices, MSEs): their magnitude reaches the thousands."""
    try:
        return float(pd.Series(values).abs().max()) >= 1000
    except (TypeError, ValueError):
        return False


def distribution(df: pd.DataFrame, column: str):
    import plotly.express as px

    fig = px.histogram(df, x=column, nbins=50, title=f"Distribution of {column}")
    fig.update_layout(bargap=0.05)
    return room_style(fig, whole_axes=("x", "y") if large(df[column]) else ("y",), height=380)


def correlation(df: pd.DataFrame):
    import plotly.express as px

    corr = df.select_dtypes("number").corr().round(2)
    fig = px.imshow(corr, text_auto=True, color_continuous_scale="RdBu_r", zmin=-1, zmax=1,
                    title="Correlation between numeric columns", aspect="auto")
    return room_style(fig, height=520)


def target_scatter(df: pd.DataFrame, feature: str, target: str, max_points: int = 3000):
    import plotly.express as px

    sample = df.sample(min(len(df), max_points), random_state=0) if len(df) > max_points else df
    fig = px.scatter(sample, x=feature, y=target, opacity=0.4, title=f"{target} against {feature}")
    return room_style(fig, whole_axes=("y",) if large(sample[target]) else (), height=380)


def split_sizes(rows: dict[str, int]):
    import plotly.graph_objects as go

    names = list(rows)
    fig = go.Figure(go.Bar(x=names, y=[rows[n] for n in names],
                           text=[f"{rows[n]:,}" for n in names],
                           marker_color=[_SPLIT_COLOURS.get(n, "#6b7280") for n in names]))
    fig.update_layout(title="Rows per split", yaxis_title="rows")
    return room_style(fig, whole_axes=("y",), height=360)


def scaling_before_after(train: pd.DataFrame, meta: dict[str, Any], column: str):
    """The train split's `column` before scaling (recovered from the scaler) and after."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    i = meta["scaler"]["columns"].index(column)
    mean, scale = meta["scaler"]["mean"][i], meta["scaler"]["scale"][i]
    scaled = train[column]
    raw = scaled * scale + mean
    fig = make_subplots(rows=1, cols=2, subplot_titles=("before scaling",
                                                         "after StandardScaler"))
    fig.add_trace(go.Histogram(x=raw, nbinsx=40, name="before", marker_color="#9ca3af"), 1, 1)
    fig.add_trace(go.Histogram(x=scaled, nbinsx=40, name="after", marker_color="#2563eb"), 1, 2)
    fig.update_layout(showlegend=False, title=f"{column}: before and after scaling")
    fig.update_annotations(font_size=FONT_SIZE)
    return room_style(fig, height=380)


def distribution_compare(written: pd.Series, read_back: pd.Series, column: str):
    """The workshop's "distribution intact" check: what went in against what came back."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.add_trace(go.Histogram(x=written, name="written (processed CSV)", nbinsx=40,
                               opacity=0.6, marker_color="#9ca3af"))
    fig.add_trace(go.Histogram(x=read_back, name="read back (offline store)", nbinsx=40,
                               opacity=0.6, marker_color="#2563eb"))
    fig.update_layout(barmode="overlay", title=f"{column}: written vs read back")
    return room_style(fig, whole_axes=("x", "y") if large(written) else ("y",), height=380)
