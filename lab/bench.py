"""`python -m lab bench`: the lab's speed figures, measured, never asserted.

Each figure runs once to warm up, then several times; we report the median and p99 (with
few runs, p99 is the slowest run). Budgets are the goals from the issues, printed next to
the figures so a regression is visible; nothing fails when a budget is missed.

A *provider* measures one or more figures and returns their raw samples; capabilities
keep their own provider next to their code (e.g. `lab.featurestore.bench`).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Samples = list[dict[str, Any]]  # [{"name", "unit", "samples", "budget"}]


@dataclass
class Provider:
    names: list[str]  # the figures it measures (for --only)
    measure: Callable[[Any, int | None], Samples]  # (settings, runs) -> samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise(name: str, unit: str, samples: list[float], budget: float | None) -> dict:
    return {"name": name, "unit": unit, "median": round(statistics.median(samples), 6),
            "p99": round(percentile(samples, 99), 6), "runs": len(samples), "budget": budget}


def repeat(fn: Callable[[], float], runs: int) -> list[float]:
    """One warm-up call (imports, caches, first file writes), then `runs` samples."""
    fn()
    return [fn() for _ in range(runs)]


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _prep_figures(settings, runs):
    from lab import jobs
    from lab.processing import processing_job, run_prep
    from lab.workspace import Workspace

    ws = Workspace(settings.workspace)
    return [
        {"name": PREP_IN_PROCESS, "unit": "s", "budget": None,
         "samples": repeat(lambda: _timed(lambda: run_prep(ws)), runs or 10)},
        {"name": PREP_JOB, "unit": "s", "budget": None,
         "samples": repeat(lambda: jobs.run(settings, processing_job(settings)).duration_s,
                           runs or 5)},
    ]


def _home_render(settings, runs):
    from lab.devserver import first_render_seconds

    return [{"name": HOME_RENDER, "unit": "s", "budget": None,
             "samples": repeat(first_render_seconds, runs or 3)}]


def _feature_store(settings, runs):
    from lab.featurestore.bench import bench_figures

    return bench_figures(settings, runs=runs or 5)


def _training(settings, runs):
    from lab.training.bench import bench_figures

    return bench_figures(settings, runs=runs or 3)


def _tuning(settings, runs):
    from lab.tuning.bench import bench_figures

    return bench_figures(settings, runs=runs or 2)


def _serving(settings, runs):
    from lab.serving.bench import bench_figures

    return bench_figures(settings, runs=runs)


def _pipelines(settings, runs):
    from lab.pipelines.bench import bench_figures

    return bench_figures(settings, runs=runs)


PREP_IN_PROCESS = "prep in-process (10,000 rows)"
PREP_JOB = "prep as a processing job (10,000 rows, incl. comparison)"
HOME_RENDER = "Home page first render after server start (chromium)"

PROVIDERS = [
    Provider([PREP_IN_PROCESS, PREP_JOB], _prep_figures),
    Provider(["feature store: ingest 10,000 rows (offline + online)",
              "feature store: online get_record", "feature store: online batch-get of 100"],
             _feature_store),
    Provider(["training: default XGBoost fit", "training: default XGBoost, whole local job",
              "training: forest (depth 8, 80 trees) fit",
              "training: forest (depth 8, 80 trees), whole local job"], _training),
    Provider(["tuning: the workshop's job (4 trials, 2 at a time)"], _tuning),
    Provider(["endpoint: deploy to InService (local)", "endpoint: one-row invoke over HTTP",
              "endpoint: one-row requests/s, one client (higher is better)",
              "endpoint: 1,000-row CSV invoke"], _serving),
    Provider(["pipeline: cold run of the training pipeline",
              "pipeline: second run, nothing changed (all cache hits)"], _pipelines),
    Provider([HOME_RENDER], _home_render),
]


def run_bench(workspace: str | None = None, runs: int | None = None, only: str | None = None,
              log: Callable[[str], None] = print) -> dict[str, Any]:
    from lab.settings import load_settings

    results = []
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp:
        settings = load_settings(Path(workspace) if workspace else Path(tmp), "local")
        for provider in PROVIDERS:
            wanted = [n for n in provider.names if not only or only.lower() in n.lower()]
            if not wanted:
                continue
            try:
                measured = provider.measure(settings, runs)
            except Exception as exc:  # a figure that cannot run here is reported, not fatal
                log(f"bench: {', '.join(wanted)}: not measured ({type(exc).__name__}: {exc})")
                results += [{"name": n, "unit": None, "median": None, "p99": None, "runs": 0,
                             "budget": None, "skipped": str(exc)} for n in wanted]
                continue
            for fig in measured:
                if not only or only.lower() in fig["name"].lower():
                    results.append(summarise(fig["name"], fig["unit"], fig["samples"],
                                             fig["budget"]))
                    log(f"bench: {fig['name']}: median {results[-1]['median']:.4f} {fig['unit']}")
    return {"figures": results}


def format_table(figures: list[dict]) -> str:
    lines = [f"{'figure':<60} {'median':>11} {'p99':>11} {'runs':>5} {'budget':>7}"]
    for f in figures:
        if f["median"] is None:
            lines.append(f"{f['name']:<60} not measured: {f.get('skipped', '')}")
            continue
        budget = "-" if f["budget"] is None else f"{f['budget']:g}"
        lines.append(f"{f['name']:<60} {f['median']:>9.4f}{f['unit']:<2} {f['p99']:>9.4f}"
                     f"{f['unit']:<2} {f['runs']:>5} {budget:>7}")
    return "\n".join(lines)
