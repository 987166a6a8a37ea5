""""What you should see now": checks computed from the workspace at the end of a stage.

Each check asks the capabilities through their public functions (so it holds on the
settings' backend) and says what it found, with the numbers. A check that cannot be
computed (a missing output, an AWS call refused) is not passed, and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lab.checkpoints._api import Observation
from lab.errors import LabError
from lab.formats import number
from lab.workspace import Workspace

Found = tuple[bool, str]


def _prepared(settings: Any) -> Found:
    from lab.dataset import active_dataset
    from lab.processing import read_meta

    ws = Workspace(settings.workspace)
    meta = read_meta(ws.processed_dir)
    if meta is None:
        return False, "Nothing is prepared yet."
    rows, dataset = meta["rows"], active_dataset(ws)
    total = sum(rows.values())
    dropped = meta.get("cleaning", {}).get("dropped_missing_target", 0)
    shares = " / ".join(f"{number(rows[s])} {s}" for s in ("train", "validation", "test"))
    return (total + dropped == dataset.rows,
            f"{shares} = {number(total)} of the {number(dataset.rows)} rows of "
            f"{dataset.name}" + (f" ({number(dropped)} dropped: no target)" if dropped else ""))


def _processing_matched(settings: Any) -> Found:
    from lab.jobs import COMPLETED, JobStore

    found = JobStore(Workspace(settings.workspace)).list("processing")
    if not found:
        return False, "No processing job has run."
    latest = found[0]
    if latest.status != COMPLETED:
        return False, f"The latest processing job {latest.status.lower()}."
    result = latest.result or {}
    return bool(result.get("match")), ("Its outputs are identical to the in-process ones."
                                       if result.get("match") else
                                       "Its outputs differ from the in-process ones.")


def _offline_train_rows(settings: Any) -> Found:
    from lab.featurestore import GroupNotFoundError, group_names, open_featurestore
    from lab.processing import read_meta

    meta = read_meta(Workspace(settings.workspace).processed_dir)
    if meta is None:
        return False, "Nothing is prepared yet, so nothing can be in the store."
    expected = meta["rows"]["train"]
    name = group_names(settings)["train"]
    try:
        info = open_featurestore(settings).describe_group(name)
    except GroupNotFoundError:
        return False, f"There is no feature group {name} yet."
    return (info.offline_rows >= expected and info.online_rows == expected,
            f"{name}: {number(info.offline_rows)} offline rows (every version), "
            f"{number(info.online_rows)} online (one per record); the train split has "
            f"{number(expected)}.")


def _tracked_runs(settings: Any) -> Found:
    from lab.training import Experiments

    ws = Workspace(settings.workspace)
    if not ws.path("experiments.db").exists():
        return False, "No training run yet."
    runs = Experiments(ws).list(status="Completed")
    manual = [r for r in runs if r.trial is None]
    trials = [r for r in runs if r.trial is not None]
    if not runs:
        return False, "No completed training run yet."
    best = min(runs, key=lambda r: r.validation.get("mse", float("inf")))
    return (bool(manual) and bool(trials),
            f"{len(manual)} training run(s) and {len(trials)} tuning trial(s) tracked; the "
            f"lowest validation MSE is {number(best.validation.get('mse'))}.")


def _approved_and_served(settings: Any) -> Found:
    from lab.registry import APPROVED, ModelGroupNotFoundError, default_group, open_registry
    from lab.serving import IN_SERVICE, open_endpoints

    try:
        versions = open_registry(settings).list_versions(default_group(settings))
    except ModelGroupNotFoundError:
        return False, "Nothing is registered yet."
    approved = {v.version for v in versions if v.status == APPROVED}
    serving = [e for e in open_endpoints(settings).list() if e.status == IN_SERVICE]
    good = [e for e in serving if e.version in approved]
    if good:
        return True, (f"{len(versions)} version(s), {len(approved)} Approved; the endpoint "
                      f"{good[0].name} is InService with version {good[0].version}.")
    return False, (f"{len(versions)} version(s), {len(approved)} Approved; no endpoint "
                   "InService serves an Approved version.")


def _pipeline_succeeded(settings: Any) -> Found:
    from lab.pipelines import TRAINING_PIPELINE, list_executions

    executions = list_executions(settings, TRAINING_PIPELINE.name)
    good = [e for e in executions if e.status == "Succeeded"]
    return bool(good), (f"{len(good)} of {len(executions)} execution(s) Succeeded."
                        if executions else "The pipeline has not run yet.")


def _cache_hits(settings: Any) -> Found:
    from lab.pipelines import TRAINING_PIPELINE, list_executions

    executions = list_executions(settings, TRAINING_PIPELINE.name)
    hits = [e for e in executions if e.cache_hits]
    if hits:
        return True, (f"Execution {hits[0].id} reused {hits[0].cache_hits} step(s) from an "
                      "earlier execution.")
    return False, "No execution has reused a cached step yet: run the pipeline again."


def _gate_held(settings: Any) -> Found:
    """Every version the pipeline registered passed its condition: MSE under the gate."""
    from lab.pipelines import TRAINING_PIPELINE, list_executions

    checked = []
    for e in list_executions(settings, TRAINING_PIPELINE.name):
        cond, reg = e.steps.get("CheckMSE"), e.steps.get("RegisterModel")
        if cond is None or "outcome" not in (cond.outputs or {}):
            continue
        registered = reg is not None and reg.status == "Succeeded"
        left, right = cond.outputs["left"], cond.outputs["right"]
        checked.append((e.id, registered, left <= right, left, right))
    if not checked:
        return False, "No execution has reached CheckMSE yet."
    wrong = [c for c in checked if c[1] and not c[2]]
    if wrong:
        return False, f"Execution {wrong[0][0]} registered a model above the gate."
    registered = [c for c in checked if c[1]]
    if not registered:
        return False, "No execution registered a model yet (the condition was false)."
    _, _, _, left, right = registered[0]
    return True, (f"{len(registered)} version(s) registered, each with a test MSE under its "
                  f"gate (latest: {number(left)} <= {number(right)}).")


def _baseline_no_drift(settings: Any) -> Found:
    from lab.monitoring import drift_report, find_baseline

    baseline = find_baseline(settings)
    if baseline is None:
        return False, "There is no baseline yet."
    report = drift_report(settings)
    return not report.drifted and report.judged, (
        f"The baseline describes {baseline.info.get('rows', 0):,} training rows; the test "
        f"split ({report.rows:,} rows) drifts in "
        f"{', '.join(report.drifted) or 'no feature'}.")


def _data_gate_failed(settings: Any) -> Found:
    """A gated execution failed at CheckDataQuality, and it registered nothing."""
    from lab.pipelines import TRAINING_PIPELINE, list_executions

    for e in list_executions(settings, TRAINING_PIPELINE.name):
        check = e.steps.get("CheckDataQuality")
        if check is not None and check.status == "Failed":
            registered = "RegisterModel" in e.steps
            return not registered, (f"Execution {e.id} stopped at CheckDataQuality: "
                                    f"{check.failure}")
    return False, ("No gated execution has met drifted data yet: run it with a -drifted "
                   "dataset as InputData.")


def _captured_and_compared(settings: Any) -> Found:
    from lab.monitoring import monitoring_view

    view = monitoring_view(settings)
    if not view.captures:
        return False, view.note or "Nothing captured yet."
    drifted = view.drift.drifted if view.drift and view.drift.judged else None
    return view.drift is not None, (
        f"{len(view.captures):,} captured requests ({view.captured_rows:,} rows); drifted "
        + ("features: not judged yet (too few rows)" if drifted is None
           else f"features: {', '.join(drifted) or 'none'}") + ".")


def _rolled_back(settings: Any) -> Found:
    from lab import jobs
    from lab.serving import ROLLOUT_KIND

    done = [j for j in jobs.JobStore(Workspace(settings.workspace)).list(ROLLOUT_KIND)
            if j.status == jobs.COMPLETED and (j.result or {}).get("rolled_back")]
    if not done:
        return False, "No rollout has rolled back yet: deploy a broken version."
    r = done[0].result
    lost = (r.get("traffic") or {}).get("lost", 0)
    return lost == 0, (f"Version {r['to_version']} rolled back by itself ({r['reason']}); "
                       f"{lost} request(s) lost.")


def _sharded(settings: Any) -> Found:
    from lab.jobs import COMPLETED, JobStore
    from lab.processing import SHARDED_KIND

    found = [j for j in JobStore(Workspace(settings.workspace)).list(SHARDED_KIND)
             if j.status == COMPLETED]
    if not found:
        return False, "No processing job on several instances has completed yet."
    result = found[0].result or {}
    check = result.get("check", {})
    ok = bool(result.get("match")) and check.get("max_abs_mean", 1) < 1e-6 and check.get(
        "max_abs_std_error", 1) < 1e-3
    return ok, (f"{len(result.get('instances', []))} instances, one part file each; "
                f"{'identical to' if result.get('match') else 'different from'} the "
                f"in-process rows; scaled train columns: largest |mean| "
                f"{check.get('max_abs_mean', float('nan')):.1e}, largest |std - 1| "
                f"{check.get('max_abs_std_error', float('nan')):.1e}.")


def _distributed(settings: Any) -> Found:
    from lab.training import compare_with_one_worker

    compared = compare_with_one_worker(settings)
    if compared is None:
        return False, "No training on several workers has completed yet."
    if compared["one_worker"] is None:
        return False, ("Train the one-worker model with the same hyperparameters to compare "
                       "(on the same page).")
    wide = compared["distributed"]
    rows = sum(w["train_rows"] for w in wide.get("workers", []))
    ratio = compared["mse_ratio"]
    return (abs(ratio - 1) <= 0.1 and rows == wide.get("rows", {}).get("train"),
            f"{wide['instance_count']} workers trained on {number(rows)} rows; their test MSE "
            f"is {number(ratio)} times the one-worker model's.")


def _shared(settings: Any) -> Found:
    from lab.teams import PLATFORM, list_teams, ownership_view

    if len(list_teams(settings)) < 2:
        return False, "There are fewer than two teams on the platform."
    reused = [o for o in ownership_view(settings)
              if o.owner != PLATFORM and any(t != o.owner for t in o.users)]
    if not reused:
        return False, "No team has read a resource another team owns yet."
    first = reused[0]
    return True, (f"{len(reused)} resource(s) owned by one team and read by another, e.g. "
                  f"{first.resource} (owner {first.owner}, used by "
                  f"{', '.join(t for t in first.users if t != first.owner)}).")


# (id, stage, what the learner should see, check, page to go to)
OBSERVERS: tuple[tuple[str, str, str, Callable[[Any], Found], str], ...] = (
    ("prepared", "Initial", "The dataset is split 60/20/20 into train, validation and test",
     _prepared, "prep.py"),
    ("processing", "Initial", "The processing job's outputs match the in-process preparation",
     _processing_matched, "prep.py"),
    ("offline-rows", "Initial", "The feature store holds every training row (6,000 for the "
     "generated data), offline and online", _offline_train_rows, "feature_store.py"),
    ("experiments", "Initial", "Training runs and tuning trials are tracked as experiment runs",
     _tracked_runs, "training.py"),
    ("served", "Initial", "An Approved version is registered and served by an InService "
     "endpoint", _approved_and_served, "registry.py"),
    ("pipeline", "Repeatable", "A pipeline execution Succeeded", _pipeline_succeeded,
     "pipelines.py"),
    ("cache", "Repeatable", "A second execution reused cached steps", _cache_hits,
     "pipelines.py"),
    ("gate", "Repeatable", "Every version the pipeline registered has its test MSE under the "
     "gate (MseThreshold)", _gate_held, "pipelines.py"),
    ("baseline", "Reliable", "A baseline of the training data, and no drift in the unchanged "
     "test split", _baseline_no_drift, "drift.py"),
    ("data-gate", "Reliable", "The gated pipeline stopped at CheckDataQuality on drifted data, "
     "and registered nothing", _data_gate_failed, "gates.py"),
    ("capture", "Reliable", "The endpoint captured requests, compared with the baseline",
     _captured_and_compared, "monitoring.py"),
    ("rollback", "Reliable", "A broken version's rollout rolled back by itself, losing no "
     "request", _rolled_back, "rollouts.py"),
    ("sharded", "Scalable", "A processing job on several instances gives the in-process rows, "
     "scaled with one scaler (mean 0, std 1 over every part)", _sharded, "scale.py"),
    ("distributed", "Scalable", "XGBoost on several workers trained on every row, its test "
     "MSE within 10% of the one-worker model's", _distributed, "scale.py"),
    ("shared", "Scalable", "Two teams share the platform, and one reads what another owns",
     _shared, "teams.py"),
)


def observe(settings: Any, stage: str, store: bool = True) -> list[Observation]:
    """Compute the stage's checks now (and keep their results in the workspace)."""
    from lab.checkpoints._store import save_observations

    found = []
    for oid, st, expect, check, page in OBSERVERS:
        if st != stage:
            continue
        try:
            ok, text = check(settings)
        except LabError as exc:
            ok, text = False, f"Could not check: {exc}"
        found.append(Observation(oid, stage, expect, ok, text, page))
    if store:
        save_observations(Workspace(settings.workspace), stage, found)
    return found
