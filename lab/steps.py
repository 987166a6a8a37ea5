"""The step registry: every step of the lab, declared once.

A step says where it belongs (stage, page), what it is called and what it does (title,
icon, summary), how to tell from the workspace that a learner has done it (`done`: cheap
file and SQLite checks, safe on every rerun of every page), what `python -m lab run-all`
runs for it (`run`), and which functions "the code that ran" shows (`code`: asked of the
backend's implementation). The router, Home's map, the sidebar's progress, `run-all` and
the tests' page lists all read `STEPS`: adding a step is one entry here plus its page.

`run` and `code` name functions as "module:function" text, imported when called, so
reading the registry imports no capability (the sidebar runs it on every page).
"""

from __future__ import annotations

import contextlib
import importlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lab.workspace import Workspace

STAGES = ("Initial", "Repeatable", "Reliable", "Scalable")
HOME = "home.py"
RECAP = "recap.py"
INSTRUCTOR = "instructor.py"
WRAP_UP = "Wrap-up"
TOOLS = "Tools"  # the navigation group of the pages that are no step of a stage


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    stage: str
    page: str  # file under pages/ (steps may share a page: the first one names it)
    icon: str
    summary: str
    done: Callable[[Workspace], bool]
    run: tuple[str, ...] = ()  # run-all: "module:function"(settings, options, echo) -> dict
    code: str | None = None  # "module:function"(settings) -> the functions that run it
    built: bool = True
    requires: tuple[str, ...] = ()  # steps whose outputs its page reads (one-click prereqs)
    owns: tuple[str, ...] = ()  # workspace paths it writes ("Reset this step" removes them)
    job_kinds: tuple[str, ...] = ()  # job kinds (prefixes) it runs, removed by a reset
    anchor: str = ""  # the section of a shared page where the step starts (deep link)
    # Its run-all part mostly waits on purpose (a traffic rate, a bake time): run-all runs
    # the steps after it that do not need it meanwhile (`run_steps`).
    waits: bool = False
    # "module:function"(settings): imports what its later run-all parts need, called in a
    # thread when run-all starts the step (its first part mostly waits for a script)
    prefetch: str | None = None


@dataclass(frozen=True)
class Page:
    file: str  # under pages/
    title: str
    icon: str
    stage: str | None  # None: Home


# The sidebar computes progress on every page of every session, so these checks read the
# steps' files and SQLite databases directly (read-only) instead of importing the
# capabilities, which pull in scikit-learn and DuckDB (about 2.5 s on a first page load).
def _any_row(ws: Workspace, db: str, sql: str, params: tuple = ()) -> bool:
    path = ws.root / db
    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True,
                                                timeout=2)) as conn:
            return conn.execute(sql, params).fetchone() is not None
    except sqlite3.Error:
        return False


def _explored(ws: Workspace) -> bool:
    return (ws.raw_dir / "datasets.json").exists()


def _prepared(ws: Workspace) -> bool:
    return (ws.processed_dir / "meta" / "prep.json").exists()


def _processing_job_matched(ws: Workspace) -> bool:
    from lab.jobs import COMPLETED, JobStore

    return any(j.status == COMPLETED and (j.result or {}).get("match")
               for j in JobStore(ws).list("processing"))


def _ingested(ws: Workspace) -> bool:
    """Some feature group holds offline data (however it was ingested), or the workshop's
    ingest wrote its record (on SageMaker the store is on AWS: no local file to look at)."""
    if (ws.root / "featurestore" / "last_ingest.json").exists():
        return True
    offline = ws.root / "featurestore" / "offline"
    return offline.is_dir() and any(p.is_dir() and any(p.iterdir()) for p in offline.iterdir())


def _trained(ws: Workspace) -> bool:
    return _any_row(ws, "experiments.db", "SELECT 1 FROM runs WHERE status = 'Completed' "
                    "LIMIT 1")


def _deployed(ws: Workspace) -> bool:
    """An endpoint serves: locally in endpoints.db; on SageMaker, an endpoint the lab
    deployed and has not deleted (the SageMaker twins' records, aws/runs.db)."""
    return (_any_row(ws, "endpoints.db", "SELECT 1 FROM endpoints WHERE status IN "
                     "('InService', 'Updating') LIMIT 1")
            or _any_row(ws, "aws/runs.db", "SELECT 1 FROM runs WHERE kind = 'endpoint' AND "
                        "ended IS NULL LIMIT 1"))


def _pipeline_succeeded(ws: Workspace) -> bool:
    return _any_row(ws, "pipelines.db", "SELECT 1 FROM executions WHERE pipeline = ? AND "
                    "status = 'Succeeded' LIMIT 1", ("lab-housing-pipeline",))


def _job_completed(ws: Workspace, kind: str, matched: bool = False) -> bool:
    """A job of `kind` Completed (only that kind's records are read: ids start with it);
    `matched`: and its result matched the in-process one."""
    import json

    for path in ws.jobs_dir.glob(f"{kind}-*/job.json") if ws.jobs_dir.exists() else ():
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if data.get("kind") == kind and data.get("status") == "Completed" and (
                not matched or (data.get("result") or {}).get("match")):
            return True
    return False


def _baseline_made(ws: Workspace) -> bool:
    folder = ws.root / "monitoring" / "baseline"
    return all((folder / f).is_file() for f in ("statistics.json", "constraints.json"))


def _gated_pipeline_succeeded(ws: Workspace) -> bool:
    """An execution of the pipeline with its gates (it has their parameters) Succeeded."""
    return _any_row(ws, "pipelines.db", "SELECT 1 FROM executions WHERE pipeline = ? AND "
                    "status = 'Succeeded' AND parameters LIKE ? LIMIT 1",
                    ("lab-housing-pipeline", '%"ModelQualityMargin"%'))


def _traffic_monitored(ws: Workspace) -> bool:
    return _job_completed(ws, "traffic")


def _rolled_out(ws: Workspace) -> bool:
    return _job_completed(ws, "rollout")


def _sharded(ws: Workspace) -> bool:
    return _job_completed(ws, "processing-sharded", matched=True)


def _distributed(ws: Workspace) -> bool:
    return _job_completed(ws, "training-distributed")


def _measured(ws: Workspace) -> bool:
    return _job_completed(ws, "scale")


def _teams(ws: Workspace) -> bool:
    """Two teams on the platform, one project stamped."""
    return _any_row(ws, "teams/platform.db", "SELECT 1 WHERE (SELECT count(*) FROM teams) >= 2 "
                    "AND EXISTS (SELECT 1 FROM projects)")


STEPS: tuple[Step, ...] = (
    Step("data", "Explore the data", "Initial", "data.py", ":material/table_chart:",
         "The housing dataset (or your own CSV): table, statistics, distributions.",
         _explored, owns=("data/raw",)),
    Step("prep", "Prepare the data", "Initial", "prep.py", ":material/tune:",
         "Split 60/20/20 and scale, in-process and as a processing job.", _prepared,
         run=("lab.processing:run_all_prep",), code="lab.processing:code",
         owns=("data/processed",)),
    Step("processing", "Processing job", "Initial", "prep.py", ":material/memory:",
         "The same script as a job, checked against the in-process run.",
         _processing_job_matched, run=("lab.processing:run_all_processing",),
         code="lab.processing:code", requires=("prep",), job_kinds=("processing",),
         anchor="processing-job"),
    Step("features", "Feature Store", "Initial", "feature_store.py", ":material/database:",
         "Offline (SQL) and online (low-latency) feature groups.", _ingested,
         run=("lab.featurestore:run_all_step",), code="lab.featurestore:code",
         requires=("prep",), owns=("featurestore",), job_kinds=("feature-ingest",)),
    Step("training", "Training & experiments", "Initial", "training.py",
         ":material/model_training:",
         "Training jobs, experiment tracking, hyperparameter tuning.", _trained,
         run=("lab.training:run_all_step", "lab.tuning:run_all_step"),
         prefetch="lab.tuning:prefetch", code="lab.training:code", requires=("features",),
         owns=("experiments.db", "tuning.db"), job_kinds=("training", "tuning")),
    Step("registry", "Registry & deployment", "Initial", "registry.py",
         ":material/rocket_launch:", "Model registry with approval, real-time endpoint.",
         _deployed, run=("lab.serving:run_all_step",), code="lab.serving:code",
         requires=("training",), owns=("registry.db", "registry", "endpoints.db", "serving"),
         job_kinds=("deploy",)),
    Step("pipelines", "Pipelines", "Repeatable", "pipelines.py", ":material/account_tree:",
         "One pipeline: process, train, evaluate, condition, register; step caching.",
         _pipeline_succeeded, run=("lab.pipelines:run_all_step",), code="lab.pipelines:code",
         owns=("pipelines.db", "pipelines"), job_kinds=("pipeline", "deploy-pipeline")),
    Step("drift", "Baseline & drift", "Reliable", "drift.py", ":material/query_stats:",
         "A baseline of the training data; PSI and KS drift of a batch you can shift.",
         _baseline_made, run=("lab.monitoring:run_all_drift",),
         code="lab.monitoring:drift_code", requires=("prep",),
         owns=("monitoring/baseline",)),
    Step("gates", "Quality gates & CI/CD", "Reliable", "gates.py", ":material/verified:",
         "The pipeline with a data-quality check and a model-quality gate; a change starts it.",
         _gated_pipeline_succeeded, run=("lab.pipelines:run_all_gates",),
         code="lab.pipelines:gates_code", requires=("drift",), owns=("ci",),
         job_kinds=("gated-pipeline",)),
    Step("monitoring", "Endpoint monitoring", "Reliable", "monitoring.py",
         ":material/monitor_heart:",
         "Data capture on the endpoint; traffic, errors and latency over time; live drift.",
         _traffic_monitored, run=("lab.monitoring:run_all_monitoring",),
         code="lab.monitoring:monitoring_code", requires=("registry", "drift"),
         owns=("monitoring/capture", "serving/metrics.db"), job_kinds=("traffic",),
         waits=True),
    Step("rollouts", "Safe rollouts", "Reliable", "rollouts.py", ":material/alt_route:",
         "Canary and linear traffic shifting, guardrails, automatic rollback.",
         _rolled_out, run=("lab.serving:run_all_rollout",), code="lab.serving:rollout_code",
         requires=("registry",), job_kinds=("rollout",), waits=True),
    Step("sharded", "Sharded processing", "Scalable", "scale.py", ":material/splitscreen:",
         "The processing job on N instances, each on its own shard, one scaler for all.",
         _sharded, run=("lab.processing:run_all_sharded",),
         code="lab.processing:sharded_code", requires=("prep",),
         job_kinds=("processing-sharded",), anchor="sharded-processing"),
    Step("distributed", "Distributed training", "Scalable", "scale.py", ":material/hub:",
         "XGBoost on N workers joined by its own tracker, beside the one-worker model.",
         _distributed, run=("lab.training:run_all_distributed",), code="lab.training:code",
         requires=("features",), job_kinds=("training-distributed",),
         anchor="distributed-training"),
    Step("speedup", "Measured speed-up", "Scalable", "scale.py", ":material/speed:",
         "Time against workers on a dataset you size, each result checked.", _measured,
         run=("lab.scaling:run_all_step",), job_kinds=("scale",), anchor="speed-up"),
    Step("teams", "Many teams, one platform", "Scalable", "teams.py", ":material/groups:",
         "Team workspaces sharing one feature store and registry; projects from a template.",
         _teams, run=("lab.teams:run_all_step",), code="lab.teams:code",
         requires=("training",), owns=("teams",), job_kinds=("team-action",)),
)


# Pages that are no step of the workshop: listed after the stages, under TOOLS.
TOOL_PAGES: tuple[Page, ...] = (
    Page("cleanup.py", "Resources & cleanup", ":material/cleaning_services:", TOOLS),
    Page("performance.py", "Performance", ":material/speed:", TOOLS),
)


def steps_of(stage: str) -> list[Step]:
    return [s for s in STEPS if s.stage == stage]


def step(key: str) -> Step:
    for s in STEPS:
        if s.key == key:
            return s
    raise KeyError(key)


def stage_file(stage: str) -> str:
    return f"stage_{stage.lower()}.py"


def checkpoint_file(stage: str) -> str:
    return f"checkpoint_{stage.lower()}.py"


def pages(instructor: bool = True, tools: bool = True) -> list[Page]:
    """Every page of the app in navigation order: Home, then per stage its own page, its
    steps' pages (a page shared by several steps once, named by its first step) and its
    checkpoint, then the recap and the instructor's page (workshop mode only), then the
    tool pages (TOOL_PAGES)."""
    out = [Page(HOME, "Home", ":material/home:", None)]
    for stage in STAGES:
        out.append(Page(stage_file(stage), f"The {stage} stage", ":material/flag:", stage))
        seen = set()
        for s in steps_of(stage):
            if s.page not in seen:
                seen.add(s.page)
                out.append(Page(s.page, s.title, s.icon, stage))
        out.append(Page(checkpoint_file(stage), f"{stage} checkpoint", ":material/quiz:",
                        stage))
    out.append(Page(RECAP, "Recap: what you built", ":material/summarize:", WRAP_UP))
    if instructor:
        out.append(Page(INSTRUCTOR, "Instructor", ":material/admin_panel_settings:", WRAP_UP))
    return out + (list(TOOL_PAGES) if tools else [])


def next_page(file: str) -> Page | None:
    """The page after `file` in the lab's order (what its "Next" link opens)."""
    flow = pages(instructor=False, tools=False)
    files = [p.file for p in flow]
    if file not in files or files.index(file) == len(files) - 1:
        return None
    return flow[files.index(file) + 1]


def steps_on(file: str) -> list[Step]:
    """The steps a page holds (most pages one; the data preparation page two)."""
    return [s for s in STEPS if s.page == file]


def progress(ws: Workspace) -> dict[str, bool]:
    """Which steps this workspace has done (cheap file checks, safe on every rerun)."""
    return {s.key: bool(s.built and s.done(ws)) for s in STEPS}


def load_function(dotted: str) -> Callable[..., Any]:
    module, _, name = dotted.partition(":")
    return getattr(importlib.import_module(module), name)


def warm_up_runners(settings: Any) -> None:
    """Before `run-all` on the local backend: start the warm worker (lab.warm) at once, so
    its imports (pandas, scikit-learn, xgboost, about 1.5 s) overlap the lab's own start
    instead of delaying the first processing job."""
    if getattr(settings, "backend", None) == "local":
        from lab import warm

        warm.prestart()


def run_all(settings: Any, options: dict[str, Any], echo: Callable[[str], None]
            ) -> dict[str, Any]:
    """Every built step's run-all part, in lab order (`run_steps`); their outputs merged,
    with timings. `options["skip"]`: step keys not to run (their outputs must be there)."""
    skip = set(options.get("skip") or ())
    unknown = skip - {s.key for s in STEPS}
    if unknown:
        from lab.errors import InputError

        raise InputError(f"No step named {', '.join(sorted(unknown))}: the steps are "
                         f"{', '.join(s.key for s in STEPS)}.")
    todo: list[Step] = []
    for s in STEPS:
        if s.key in skip:
            echo(f"{s.key}: skipped (--skip)")
        elif s.built and s.run:
            todo.append(s)
    return run_steps(settings, todo, options, echo)


Before = Callable[[Step, str, Callable[[str], None]], None]


def run_steps(settings: Any, chosen: list[Step], options: dict[str, Any],
              echo: Callable[[str], None], before: Before | None = None) -> dict[str, Any]:
    """The run-all parts of `chosen` (in lab order), their outputs merged with timings;
    `before(step, part, echo)` is called before each part, in the thread that runs it.

    Steps that mostly wait (`Step.waits`: the endpoint's traffic at a set rate, a
    rollout's bake time) run one after the other in a thread of their own while the steps
    after them that do not need them run in this one: the Scalable stage's processing,
    training and measurements, which use no endpoint. The output stays in lab order: the
    waiting steps print as they run, the others' lines are held until those have ended."""
    todo = list(chosen)
    out: dict[str, Any] = {"timings_s": {}}

    def merge(parts: list[dict[str, Any]]) -> None:
        for part in parts:
            out["timings_s"].update(part.pop("timings_s", {}))
            out.update(part)

    while todo:
        waiting = []
        while todo and todo[0].waits:
            waiting.append(todo.pop(0))
        if not waiting:
            merge(_run_steps([todo.pop(0)], settings, options, echo, before))
            continue
        beside = []
        while todo and not todo[0].waits and not _needs(todo[0], waiting):
            beside.append(todo.pop(0))
        merge(_beside(waiting, beside, settings, options, echo, before))
    return out


def _run_steps(chosen: list[Step], settings: Any, options: dict[str, Any],
               echo: Callable[[str], None], before: Before | None = None
               ) -> list[dict[str, Any]]:
    parts = []
    for s in chosen:
        if s.prefetch:
            _prefetch(s.prefetch, settings)
        for dotted in s.run:
            if before is not None:
                before(s, dotted, echo)
            parts.append(load_function(dotted)(settings, options, echo))
    return parts


def _prefetch(dotted: str, settings: Any) -> None:
    """`dotted(settings)` in a thread of its own; a failure there only costs the time back
    (the part that needs the imports makes them, and reports what fails)."""
    import threading

    def prefetch() -> None:
        try:
            load_function(dotted)(settings)
        except Exception:  # noqa: BLE001 - a head start only
            pass

    threading.Thread(target=prefetch, name="lab-prefetch", daemon=True).start()


def _needs(later: Step, earlier: list[Step]) -> bool:
    """Whether `later` needs any of `earlier` (directly or through the steps it needs)."""
    keys, todo, seen = {s.key for s in earlier}, list(later.requires), set()
    while todo:
        key = todo.pop()
        if key in keys:
            return True
        if key not in seen:
            seen.add(key)
            todo += step(key).requires
    return False


def _beside(waiting: list[Step], others: list[Step], settings: Any, options: dict[str, Any],
            echo: Callable[[str], None], before: Before | None) -> list[dict[str, Any]]:
    """`waiting` in a thread (printing as they go) while `others` run here (their lines
    held, then printed); both outputs, in lab order. An error of either is raised once
    both have ended, the earlier step's first."""
    import threading

    results: dict[str, Any] = {}

    def in_thread() -> None:
        try:
            results["waiting"] = _run_steps(waiting, settings, options, echo, before)
        except BaseException as exc:  # raised below, in the caller's thread
            results["waiting_error"] = exc

    thread = threading.Thread(target=in_thread, name="lab-run-all-waiting", daemon=True)
    thread.start()
    held: list[str] = []
    try:
        done = _run_steps(others, settings, options, held.append, before)
        error = None
    except BaseException as exc:
        done, error = [], exc
    thread.join()
    for line in held:
        echo(line)
    if "waiting_error" in results:
        raise results["waiting_error"]
    if error is not None:
        raise error
    return [*results["waiting"], *done]


def code_of(key: str, settings: Any) -> list[Callable[..., Any]]:
    """The functions that run step `key` on the settings' backend."""
    dotted = step(key).code
    return load_function(dotted)(settings) if dotted else []


_STAGE_COLOURS = {"Initial": "#dbeafe", "Repeatable": "#dcfce7", "Reliable": "#fef9c3",
                  "Scalable": "#fce7f3"}


def map_dot(done: dict[str, bool]) -> str:
    """The lab's steps as a DOT graph, one cluster per stage, done steps marked."""
    lines = ["digraph lab {", "  rankdir=TB; compound=true; nodesep=0.3; ranksep=0.3;",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11];']
    for stage in STAGES:
        lines.append(f'  subgraph cluster_{stage.lower()} {{ label="{stage}"; '
                     f'style="rounded"; color="#9ca3af"; fontname="Helvetica";')
        members = steps_of(stage)
        if not members:
            lines.append(f'    {stage.lower()}_none [label="(explained, no steps)", '
                         'style="dashed,rounded", fillcolor="#ffffff"];')
        for s in members:
            mark = "✓ " if done.get(s.key) else ("" if s.built else "(not built yet) ")
            fill = _STAGE_COLOURS[stage] if s.built else "#f3f4f6"
            lines.append(f'    {s.key} [label="{mark}{s.title}", fillcolor="{fill}"];')
        lines.append("  }")
    # The lab's order, a stage without steps standing in for them: each stage joined to the
    # next (dashed where a stage has no steps yet).
    chain = [n for stage in STAGES for n in ([s.key for s in steps_of(stage)]
                                             or [f"{stage.lower()}_none"])]
    for before, after in zip(chain, chain[1:]):
        dashed = " [style=dashed]" if before.endswith("_none") or after.endswith("_none") else ""
        lines.append(f"  {before} -> {after}{dashed};")
    lines.append("}")
    return "\n".join(lines)
