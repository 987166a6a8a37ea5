"""`python -m lab bench`: the lab's speed figures, measured, never asserted.

Each figure runs once to warm up, then `runs` times; we report the median and p99 (with
few runs, p99 is the slowest run). Budgets are the goals from the issues, printed next to
the figures so a regression is visible; nothing fails when a budget is missed.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    name: str
    unit: str
    measure: Callable[[], float]  # one sample, in `unit`
    runs: int
    budget: float | None = None


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise(name: str, unit: str, samples: list[float], budget: float | None) -> dict:
    return {"name": name, "unit": unit, "median": round(statistics.median(samples), 6),
            "p99": round(percentile(samples, 99), 6), "runs": len(samples), "budget": budget}


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _figures(root: Path) -> list[Figure]:
    from lab.prep import run_prep
    from lab.processing import run_processing_job
    from lab.settings import load_settings
    from lab.workspace import Workspace

    settings = load_settings(root)
    ws = Workspace(root)
    return [
        Figure("prep in-process (10,000 rows)", "s", lambda: _timed(lambda: run_prep(ws)), 10,
               None),
        Figure("prep as a processing job (10,000 rows, incl. comparison)", "s",
               lambda: run_processing_job(settings).duration_s, 5, None),
        Figure("Home page first render after server start", "s", home_first_render, 3, None),
    ]


def home_first_render() -> float:
    """Start `streamlit run`, open Home in chromium, time until the script finished."""
    from lab.devserver import first_render_seconds

    return first_render_seconds("streamlit_app.py")


def run_bench(workspace: str | None = None, runs: int | None = None, only: str | None = None,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp:
        root = Path(workspace) if workspace else Path(tmp)
        for fig in _figures(root):
            if only and only.lower() not in fig.name.lower():
                continue
            n = runs or fig.runs
            try:
                fig.measure()  # warm-up: imports, caches, first file writes
                samples = [fig.measure() for _ in range(n)]
            except Exception as exc:  # a figure that cannot run here is reported, not fatal
                log(f"bench: {fig.name}: not measured ({type(exc).__name__}: {exc})")
                results.append({"name": fig.name, "unit": fig.unit, "median": None, "p99": None,
                                "runs": 0, "budget": fig.budget, "skipped": str(exc)})
                continue
            results.append(summarise(fig.name, fig.unit, samples, fig.budget))
            log(f"bench: {fig.name}: median {results[-1]['median']:.4f} {fig.unit}")
    return {"figures": results}


def format_table(figures: list[dict]) -> str:
    lines = [f"{'figure':<58} {'median':>10} {'p99':>10} {'runs':>5} {'budget':>8}"]
    for f in figures:
        if f["median"] is None:
            lines.append(f"{f['name']:<58} {'not measured: ' + f.get('skipped', '')}")
            continue
        budget = "-" if f["budget"] is None else f"{f['budget']:g}"
        lines.append(f"{f['name']:<58} {f['median']:>9.4f}{f['unit']:<1} {f['p99']:>9.4f}"
                     f"{f['unit']:<1} {f['runs']:>5} {budget:>8}")
    return "\n".join(lines)
