"""What the Performance page shows of a bench run (`lab.bench.latest`): rows and charts.

The page stays thin: it asks here for the table of figures, the lab-against-reference
chart and the scale curves, all computed from the saved JSON (no measuring here).
"""

from __future__ import annotations

from typing import Any

from lab.charts import room_style
from lab.formats import number

_CURVE_COLOURS = {"prep": "#0891b2", "processing": "#2563eb", "ingest": "#d97706",
                  "query": "#7c3aed", "training": "#16a34a"}


def higher_is_better(unit: str | None) -> bool:
    return unit == "req/s"


def over_budget(figure: dict[str, Any]) -> bool:
    """Whether a figure misses its budget (held on its median, or on its p99 where the
    issue says so: `budget_on`)."""
    if figure.get("median") is None or figure.get("budget") is None:
        return False
    value = figure[figure.get("budget_on", "median")]
    return value < figure["budget"] if higher_is_better(figure["unit"]) else \
        value > figure["budget"]


def figure_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per figure: the lab's median and p99, its budget, the reference and speed-up
    (a grouped figure names its slowest group). Median and p99 stay numbers (the table
    sorts on them); the budget, reference and speed-up are text, "-" where a figure has
    none: st.dataframe shows an empty number as "None", whatever the Styler's na_rep."""
    rows = []
    for f in result.get("figures", []):
        name = f["name"] + (f" (slowest: {f['slowest']})" if f.get("slowest") else "")
        if f.get("median") is None:
            rows.append({"figure": name, "median": None, "p99": None, "unit": "",
                         "budget": "-", "within budget": "not measured", "reference": "-",
                         "speed-up": "-", "reference is": ""})
            continue
        rows.append({
            "figure": name, "median": f["median"], "p99": f["p99"], "unit": f["unit"],
            "budget": budget_text(f),
            "within budget": "-" if f["budget"] is None else ("no" if over_budget(f) else "yes"),
            "reference": "-" if f.get("reference") is None else number(f["reference"], f["unit"]),
            "speed-up": "-" if f.get("speedup") is None else f"{number(f['speedup'])}x",
            "reference is": f.get("reference_what") or "",
        })
    return rows


def figure_details(result: dict[str, Any]) -> list[tuple[str, str]]:
    """(figure, what it says beside its numbers) for the figures that say something: how
    it was measured, its groups, why it was not measured. Figures one after the other that
    say the same (two readings of one run) share a line."""
    out: list[tuple[str, str]] = []
    for f in result.get("figures", []):
        detail = f.get("detail") or (f"not measured: {f['skipped']}" if f.get("skipped")
                                     else None)
        if detail is None:
            continue
        if out and out[-1][1] == detail:  # figures of one measurement: their names, once
            out[-1] = (f"{out[-1][0]} · {f['name']}", detail)
        else:
            out.append((f["name"], detail))
    return out


def budget_text(figure: dict[str, Any]) -> str:
    """`< 0.1 s`, `>= 500 req/s`, `p99 < 1 ms`; "-" without a budget."""
    if figure.get("budget") is None:
        return "-"
    on = "p99 " if figure.get("budget_on") == "p99" else ""
    sign = ">=" if higher_is_better(figure.get("unit")) else "<"
    return f"{on}{sign} {number(figure['budget'], figure.get('unit') or '')}"


def referenced(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in result.get("figures", []) if f.get("speedup")]


def speedup_chart(result: dict[str, Any]):
    """How many times faster the lab is than the naive way, per figure (log scale)."""
    import plotly.graph_objects as go

    figures = referenced(result)
    names = [f["name"] for f in figures]
    fig = go.Figure(go.Bar(
        x=[f["speedup"] for f in figures], y=names, orientation="h",
        marker_color=["#16a34a" if f["speedup"] >= 1 else "#dc2626" for f in figures],
        text=[f"{f['speedup']:.3g}x" for f in figures], textposition="outside",
        cliponaxis=False,
        hovertext=[f"lab {f['median']:g} {f['unit']} · naive {f['reference']:g} {f['unit']} "
                   f"({f.get('reference_what') or 'reference'})" for f in figures],
        hoverinfo="text"))
    fig.add_vline(x=1, line_dash="dot", line_color="#6b7280")
    fig.update_layout(title="The lab against the naive way, same run (times faster)",
                      xaxis_title="speed-up (reference / lab; log scale)",
                      yaxis=dict(autorange="reversed"))
    import math

    largest = max([f["speedup"] for f in figures] + [1.0])
    # log axis from 1/2 to 3 times the largest bar: room for the bars' labels beside them
    fig.update_xaxes(type="log", range=[math.log10(0.5), math.log10(largest * 3)])
    return room_style(fig, height=120 + 45 * max(1, len(figures)))


def curves_chart(result: dict[str, Any]):
    """Seconds against rows for each step (log-log: a straight line of slope 1 is linear)."""
    import plotly.graph_objects as go

    points = (result.get("curves") or {}).get("points") or []
    fig = go.Figure()
    for what in dict.fromkeys(p["what"] for p in points):
        mine = [p for p in points if p["what"] == what]
        fig.add_trace(go.Scatter(
            x=[p["rows"] for p in mine], y=[p["seconds"] for p in mine],
            mode="lines+markers+text", name=what,
            line_color=_CURVE_COLOURS.get(what, "#374151"),
            text=[f"{p['seconds']:.2g} s" for p in mine], textposition="top center"))
    fig.update_layout(title="How each step's time grows with the rows (generated data)",
                      xaxis_title="rows", yaxis_title="seconds")
    sizes = sorted({p["rows"] for p in points})
    fig.update_xaxes(type="log", tickvals=sizes, ticktext=[f"{n:,}" for n in sizes])
    fig.update_yaxes(type="log")
    return room_style(fig, whole_axes=("x",), height=440)
