"""`python -m lab bench`: the lab's speed figures, measured, never asserted.

Each figure runs once to warm up, then several times; we report the median and p99 (with
few runs, p99 is the slowest run). Budgets are the goals from the issues, printed next to
the figures so a regression is visible; nothing fails when a budget is missed.

Where a naive way of doing the same work exists, it runs beside the lab's in the same run
(`reference_samples`): `--json` then gives its median as `reference` and the ratio as
`speedup` (how many times faster the lab is), so the comparison holds on any machine,
however loaded. `--quick` runs fewer samples and smaller scale curves (under 2 minutes on
two cores); the full run adds the 1-million-row curve points.

A *provider* measures one or more figures and returns their raw samples; capabilities
keep their own provider next to their code (e.g. `lab.featurestore.bench`). The result is
also written to `<workspace>/bench/latest.json`, which the app's Performance page shows.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.benchapp import (
    HOME_PARTS,
    PAGE_RERUN,
    ROOM_ONE,
    ROOM_THIRTY,
    SERVER_PART,
    WORKERS_PART,
)
from lab.benchview import higher_is_better

# [{"name", "unit", "samples", "budget"} + optional "reference_samples", "reference_what",
# and the EXTRA keys, passed into the report as they are]
Samples = list[dict[str, Any]]
EXTRA = ("detail", "errors")  # what a figure says beside its numbers (shown on the page)
ROOT = Path(__file__).resolve().parent.parent
WORKSHOP_CSV = ROOT.parent / "shared" / "datasets" / "house_pricing.csv"
KIND = "bench"  # the job kind of a bench started from the app
LATEST = "latest.json"


@dataclass
class Provider:
    names: list[str]  # the figures it measures (for --only)
    measure: Callable[[Any, int | None, bool], Samples]  # (settings, runs, quick) -> samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summarise(name: str, unit: str, samples: list[float] | dict[str, list[float]],
              budget: float | None, reference_samples: list[float] | dict | None = None,
              reference_what: str | None = None, budget_on: str = "median") -> dict:
    """A figure as reported: median, p99, runs, budget; with a reference, its median and
    the speed-up (reference / median, or median / reference for a rate).

    Grouped samples ({"Home": [...], "Data": [...]}) report the worst group's median (its
    name as `slowest`, every group's median in `groups`) and the p99 of all of them."""
    median, worst, groups = _median(samples, unit)
    out = {"name": name, "unit": unit, "median": round(median, 6),
           "p99": round(percentile(_flat(samples), 99), 6), "runs": len(_flat(samples)),
           "budget": budget}
    if worst is not None:
        out.update(slowest=worst, groups=groups)
    if budget_on != "median":
        out["budget_on"] = budget_on
    if reference_samples:
        reference, ref_worst, ref_groups = _median(reference_samples, unit)
        ratio = (median / reference) if higher_is_better(unit) else (reference / median)
        out.update(reference=round(reference, 6), reference_runs=len(_flat(reference_samples)),
                   speedup=round(ratio, 2) if median and reference else None,
                   reference_what=reference_what)
        if ref_worst is not None:
            out.update(reference_slowest=ref_worst, reference_groups=ref_groups)
    return out


def _flat(samples: list[float] | dict[str, list[float]]) -> list[float]:
    return [x for group in samples.values() for x in group] if isinstance(samples, dict) \
        else samples


def _median(samples: list[float] | dict[str, list[float]], unit: str
            ) -> tuple[float, str | None, dict[str, float] | None]:
    """(median, the worst group's name, each group's median); no group for plain samples."""
    if not isinstance(samples, dict):
        return statistics.median(samples), None, None
    groups = {k: round(statistics.median(v), 6) for k, v in samples.items()}
    worst = (min if higher_is_better(unit) else max)(groups, key=groups.get)
    return groups[worst], worst, groups


def repeat(fn: Callable[[], float], runs: int, warm_up: bool = True) -> list[float]:
    """One warm-up call (imports, caches, first file writes), then `runs` samples."""
    if warm_up:
        fn()
    return [fn() for _ in range(runs)]


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


# The naive reference of data preparation: what a notebook or a processing script written
# the straightforward way does, in a fresh interpreter (pandas and scikit-learn imported
# every time): read the CSV, split 60/20/20 with two train_test_split calls, fit a
# StandardScaler on the training split, transform all three, write them as CSV.
_NAIVE_PREP = r"""
import sys
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
source, out, target = sys.argv[1], sys.argv[2], sys.argv[3]
df = pd.read_csv(source)
X, y = df.drop(columns=[target]), df[target]
X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.4, random_state=42)
X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=0.5, random_state=42)
scaler = StandardScaler().fit(X_train)
for name, X_, y_ in (("train", X_train, y_train), ("validation", X_val, y_val),
                     ("test", X_test, y_test)):
    frame = pd.DataFrame(scaler.transform(X_), columns=X_.columns)
    frame.insert(0, target, y_.to_numpy())
    frame.to_csv(f"{out}/{name}.csv", header=False, index=False)
"""


def naive_prep_seconds(csv: Path, target: str) -> float:
    with tempfile.TemporaryDirectory(prefix="lab-naive-prep-") as out:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", _NAIVE_PREP, str(csv), out, target], check=True,
                       capture_output=True)
        return time.perf_counter() - started


def _active_csv(ws) -> tuple[Path, str]:
    from lab.dataset import active_dataset

    info = active_dataset(ws)
    return info.path(ws), info.target


def _prep_figures(settings, runs, quick):
    from lab import jobs
    from lab.processing import processing_job, run_prep
    from lab.workspace import Workspace

    ws = Workspace(settings.workspace)
    run_prep(ws)  # makes the generated dataset when there is none
    csv, target = _active_csv(ws)
    naive = repeat(lambda: naive_prep_seconds(csv, target), runs or (2 if quick else 5))
    what = "pandas read + split + scale in a fresh interpreter"
    return [
        {"name": PREP_IN_PROCESS, "unit": "s", "budget": None,
         "samples": repeat(lambda: _timed(lambda: run_prep(ws)), runs or (3 if quick else 10)),
         "reference_samples": naive, "reference_what": what},
        {"name": PREP_JOB, "unit": "s", "budget": PREP_JOB_BUDGET_S,
         "samples": repeat(lambda: jobs.run(settings, processing_job(settings)).duration_s,
                           runs or (2 if quick else 5)),
         "reference_samples": naive, "reference_what": what},
    ]


def _home_render(settings, runs, quick):
    from lab.benchapp import home_render_figures

    return home_render_figures(HOME_RENDER, HOME_BUDGET_S, runs or (1 if quick else 3),
                               warm_up=not quick)


def _page_reruns(settings, runs, quick):
    from lab.benchapp import page_rerun_figures

    return page_rerun_figures(reruns=runs or (3 if quick else 15))


def _room_memory(settings, runs, quick):
    from lab.benchapp import room_memory_figures

    return room_memory_figures(pause_s=ROOM_PAUSE_S[quick])


def _feature_store(settings, runs, quick):
    from lab.featurestore.bench import bench_figures

    return bench_figures(settings, runs=runs or (3 if quick else 5),
                         gets=500 if quick else 2000, batch_gets=100 if quick else 300)


def _training(settings, runs, quick):
    from lab.training.bench import bench_figures

    return bench_figures(settings, runs=runs or (1 if quick else 3))


def _tuning(settings, runs, quick):
    from lab.tuning.bench import bench_figures

    return bench_figures(settings, runs=runs or (1 if quick else 2))


def _serving(settings, runs, quick):
    from lab.serving.bench import bench_figures

    return bench_figures(settings, runs=runs or (2 if quick else None))


def _pipelines(settings, runs, quick):
    from lab.pipelines.bench import bench_figures

    return bench_figures(settings, runs=runs or (1 if quick else 2))


def _cli_help(settings, runs, quick):
    def once() -> float:
        return _timed(lambda: subprocess.run([sys.executable, "-m", "lab", "--help"],
                                             cwd=ROOT, check=True, capture_output=True))

    return [{"name": CLI_HELP, "unit": "s", "budget": CLI_BUDGET_S,
             "samples": repeat(once, runs or (3 if quick else 5))}]


# `python -m lab ARGS` that writes its own peak memory (VmHWM, kB) to stderr as it exits.
# Not the rusage of the child: Linux keeps the larger of a child's peak and its parent's
# memory at the fork across exec, so a child of the bench (itself 500 MB and more by then)
# reported the bench's size, not its own.
_OWN_PEAK = """
import atexit, runpy, sys

def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            sys.stderr.write(f"\\n{MARK} {line.split()[1]}\\n")

atexit.register(peak)
sys.argv = ["lab", *sys.argv[1:]]
runpy.run_module("lab", run_name="__main__", alter_sys=True)
"""
PEAK_MARK = "lab-bench-own-peak-kb"


def run_all_fresh(workspace: Path, csv: Path | None) -> tuple[float, float]:
    """`python -m lab run-all` in a fresh process: (seconds, its peak RSS in MB)."""
    args = ["run-all", "--workspace", str(workspace), "--json"]
    return lab_fresh([*args, "--data", str(csv)] if csv is not None else args)


def lab_fresh(args: list[str]) -> tuple[float, float]:
    """`python -m lab ARGS` in a fresh process: (seconds, its own peak RSS in MB)."""
    cmd = [sys.executable, "-c", _OWN_PEAK.replace("{MARK}", PEAK_MARK), *args]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.communicate()[1].decode(errors="replace")
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {err.strip().splitlines()[-1:]}")
    peaks = [line.split()[1] for line in err.splitlines() if line.startswith(PEAK_MARK)]
    if not peaks:
        raise RuntimeError(f"{args[0]} did not report its peak memory (no /proc/self/status?)")
    return elapsed, int(peaks[-1]) / 1024


def _run_all(settings, runs, quick):
    csv = WORKSHOP_CSV if WORKSHOP_CSV.is_file() else None
    seconds, rss = [], []
    with tempfile.TemporaryDirectory(prefix="lab-bench-runall-") as tmp:
        for i in range(runs or (1 if quick else 2)):
            s, m = run_all_fresh(Path(tmp) / f"ws{i}", csv)
            seconds.append(s)
            rss.append(m)
    data = "the workshop's CSV" if csv else "generated data"
    return [{"name": f"{RUN_ALL} ({data})", "unit": "s", "budget": RUN_ALL_BUDGET_S,
             "samples": seconds},
            {"name": RUN_ALL_RSS, "unit": "MB", "budget": None, "samples": rss}]


PREP_IN_PROCESS = "prep in-process (10,000 rows)"
PREP_JOB = "prep as a processing job (10,000 rows, incl. comparison)"
HOME_RENDER = "Home page first render after server start (chromium)"
CLI_HELP = "python -m lab --help, fresh process"
RUN_ALL = "run-all, fresh process"
RUN_ALL_RSS = "run-all: peak memory (RSS) of its process"
BENCH_RSS = "bench: peak memory (RSS) of this process"
# Seconds between a paced attendee's actions in the memory figures ({quick: pause}): about
# 3 s as `lab load` pauses; 0.5 s in --quick, so that the whole quick run stays under two
# minutes (the arrivals are spread over the same 15 s)
ROOM_PAUSE_S = {False: 3.0, True: 0.5}
PREP_JOB_BUDGET_S, HOME_BUDGET_S, CLI_BUDGET_S, RUN_ALL_BUDGET_S = 0.5, 1.0, 0.3, 5.0

PROVIDERS = [
    Provider([CLI_HELP], _cli_help),
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
              "endpoint: one-row requests/s, four plain HTTP clients (higher is better)",
              "endpoint: one-row requests/s, one boto3 client (higher is better)",
              "endpoint: 1,000-row CSV invoke"], _serving),
    Provider(["pipeline: cold run of the training pipeline",
              "pipeline: second run, nothing changed (all cache hits)"], _pipelines),
    Provider([HOME_RENDER, *HOME_PARTS.values()], _home_render),
    Provider([PAGE_RERUN], _page_reruns),
    Provider([f"{room}: {part}" for room in (ROOM_ONE, ROOM_THIRTY)
              for part in (SERVER_PART, WORKERS_PART)], _room_memory),
    Provider([RUN_ALL, RUN_ALL_RSS], _run_all),
]


def run_bench(runs: int | None = None, only: str | None = None,
              log: Callable[[str], None] = print, quick: bool = False,
              curves: bool | None = None, save_to: str | os.PathLike | None = None
              ) -> dict[str, Any]:
    """Measure the figures (those whose name contains `only`), and the scale curves (by
    default in a whole run, not with `only`), in a scratch workspace: the learner's own
    never gets the bench's jobs, models and endpoints. `save_to`: a workspace whose
    bench/latest.json receives the result."""
    from lab.settings import load_settings

    started, results = time.perf_counter(), []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp:
        settings = load_settings(Path(tmp), "local")
        for provider in PROVIDERS:
            wanted = [n for n in provider.names if not only or only.lower() in n.lower()]
            if not wanted:
                continue
            provider_started = time.perf_counter()
            try:
                measured = provider.measure(settings, runs, quick)
            except Exception as exc:  # a figure that cannot run here is reported, not fatal
                log(f"bench: {', '.join(wanted)}: not measured ({type(exc).__name__}: {exc})")
                results += [{"name": n, "unit": None, "median": None, "p99": None, "runs": 0,
                             "budget": None, "skipped": str(exc)} for n in wanted]
                continue
            # what each provider costs, to keep --quick under its two minutes
            log(f"bench: ({time.perf_counter() - provider_started:.1f} s for "
                f"{len(measured)} figure(s))")
            for fig in measured:
                if not only or only.lower() in fig["name"].lower():
                    results.append(summarise(fig["name"], fig["unit"], fig["samples"],
                                             fig["budget"], fig.get("reference_samples"),
                                             fig.get("reference_what"),
                                             fig.get("budget_on", "median")))
                    results[-1].update({k: fig[k] for k in EXTRA if k in fig})
                    log(f"bench: {fig['name']}: median {results[-1]['median']:.4f} "
                        f"{fig['unit']}")
        scale: dict[str, Any] = {}
        if curves if curves is not None else not only:
            from lab.benchscale import scale_curves

            try:
                scale = scale_curves(quick=quick, log=log)
            except Exception as exc:  # noqa: BLE001 - reported, as a figure that cannot run
                log(f"bench: scale curves: not measured ({type(exc).__name__}: {exc})")
                scale = {"skipped": str(exc)}
    if not only or only.lower() in BENCH_RSS.lower():
        from lab.benchscale import own_peak_mb

        peak = own_peak_mb()
        results.append(summarise(BENCH_RSS, "MB", [peak], None))
    out = {"figures": results, "curves": scale, "quick": quick,
           "when": datetime.now(UTC).isoformat(timespec="seconds"),
           "cpus": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
           "load_average_after": [round(x, 2) for x in os.getloadavg()],
           "seconds": round(time.perf_counter() - started, 1)}
    if save_to is not None:
        save(save_to, out)
    return out


def bench_dir(workspace: str | os.PathLike) -> Path:
    return Path(workspace) / "bench"


def save(workspace: str | os.PathLike, result: dict[str, Any]) -> Path:
    folder = bench_dir(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / LATEST
    staging = folder / f".{LATEST}.tmp"
    staging.write_text(json.dumps(result, indent=2))
    staging.replace(target)  # a reader never sees half a file
    return target


def latest(settings: Any) -> dict[str, Any] | None:
    """The last bench run saved in the settings' workspace, or None."""
    path = bench_dir(settings.workspace) / LATEST
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def bench_job(settings: Any, quick: bool = True, extra_args: tuple[str, ...] = ()) -> Any:
    """`python -m lab bench --quick` as a job (the Performance page's button): a process of
    its own, so its measurements share nothing with the app's (its endpoints, its warm
    worker, the environment it changes for the references); it saves into the workspace."""
    from lab import jobs

    def run(ctx) -> dict[str, Any]:
        cmd = [sys.executable, "-m", "lab", "bench", *(["--quick"] if quick else []),
               *extra_args]
        env = {**os.environ, "LAB_WORKSPACE": str(settings.workspace), "PYTHONPATH": str(ROOT)}
        code = ctx.run_subprocess(cmd, env=env)
        if code != 0:
            from lab.errors import JobError

            raise JobError(f"The bench exited with {code}: its log says why.")
        result = latest(settings) or {}
        return {"figures": len(result.get("figures", [])), "seconds": result.get("seconds")}

    return jobs.JobSpec(KIND, {"quick": quick, "args": list(extra_args)}, run)


def format_table(figures: list[dict]) -> str:
    lines = [f"{'figure':<66} {'median':>11} {'p99':>11} {'runs':>5} {'budget':>7} "
             f"{'reference':>11} {'speedup':>8}"]
    for f in figures:
        if f["median"] is None:
            lines.append(f"{f['name']:<66} not measured: {f.get('skipped', '')}")
            continue
        name = f["name"]
        if f.get("slowest"):  # a grouped figure: its name, then the group its median is
            lines.append(name)
            name = f"  slowest: {f['slowest']}"
        budget = "-" if f["budget"] is None else f"{f['budget']:g}"
        ref = "" if f.get("reference") is None else f"{f['reference']:>9.4f}{f['unit']:<2}"
        speed = "" if f.get("speedup") is None else f"{f['speedup']:>7.1f}x"
        lines.append(f"{name:<66} {f['median']:>9.4f}{f['unit']:<2} {f['p99']:>9.4f}"
                     f"{f['unit']:<2} {f['runs']:>5} {budget:>7} {ref:>11} {speed:>8}")
    return "\n".join(lines)


def format_curves(curves: dict[str, Any]) -> str:
    if not curves or "points" not in curves:
        return ""
    lines = ["", f"{'scale curve':<14} {'rows':>10} {'seconds':>9}"]
    for p in curves["points"]:
        lines.append(f"{p['what']:<14} {p['rows']:>10,} {p['seconds']:>9.3f}")
    if curves.get("bounds"):
        lines.append("largest accepted: " + "; ".join(curves["bounds"]))
    return "\n".join(lines)
