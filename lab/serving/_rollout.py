"""Safe rollouts: a new approved version takes the traffic step by step, and rolls back by
itself when a guardrail is breached.

    jobs.run(settings, rollout_job(settings, plan=RolloutPlan("canary")))  # latest approved
    jobs.run(settings, rollout_job(settings, broken=True))    # a broken version: rolls back

Locally (`local_rollout`) the endpoint gets two fleets, "blue-vN" (the version N it serves)
and "green-vM" (the new one), and the runtime server sends each request to one of them by
weight (the reply's x-Amzn-Invoked-Production-Variant names it).
At each step green's share grows (canary: a share, then all; linear: equal steps; all: at
once) and is baked: for `bake_s` seconds the guardrails read green's requests since the
step began (its error rate and p99 latency, from the server's metrics) and a breach moves
all the traffic back to blue at once. The last step (all traffic on green) is baked too;
then the endpoint serves the new version alone. New weights reach every lab server within
a second (each re-reads its endpoint records once a second), so a step starts measuring
after that. On SageMaker the same plan is an UpdateEndpoint with a BlueGreenUpdatePolicy
and CloudWatch alarms that roll back (`_sagemaker.py`).

A rollout job sends a steady stream of test rows while it runs (`traffic_rate`), so the
guardrails have requests to judge, and reports what the stream got.
"""

from __future__ import annotations

import time
from typing import Any

from lab import jobs
from lab.errors import InputError
from lab.serving._api import (
    IN_SERVICE,
    UPDATING,
    RolloutPlan,
    RolloutResult,
    RolloutStep,
    Variant,
)
from lab.serving._metrics import window

ROLLOUT_KIND = "rollout"
BLUE, GREEN = "blue", "green"
PROPAGATE_S = 1.2  # every server re-reads its endpoint records within RECHECK_S (1 s)
POLL_S = 0.2
BROKEN_FEATURE = "DISTANCE_TO_CITY"


def _quiet(fraction: float, message: str) -> None:
    pass


def local_rollout(endpoints: Any, name: str, version: Any, plan: RolloutPlan,
                  progress: Any = None, on_step: Any = None) -> RolloutResult:
    """The local twin's rollout of `version` (a ModelVersion) to the endpoint `name`."""
    from lab.serving._runtime import ensure_server

    report = progress or _quiet
    plan.check()
    records, settings = endpoints.records, endpoints.settings
    current = records.get(name)
    if current.status != IN_SERVICE:
        raise InputError(f"The endpoint {name} is {current.status}: a rollout starts from an "
                         "InService endpoint.")
    server = ensure_server(settings)
    server.models.load(version.group, version.version)  # a version that does not load stops
    records.update(name, status=UPDATING, pending_version=version.version, failure="")
    shares, steps, reason = plan.shares(), [], ""

    blue, green = f"{BLUE}-v{current.version}", f"{GREEN}-v{version.version}"

    def move(share: float) -> None:
        records.set_variants(name, [
            Variant(blue, current.group, current.version, round(1 - share, 6)),
            Variant(green, version.group, version.version, share)])
        server.models.refresh(name)

    try:
        for i, share in enumerate(shares):
            move(share)
            report(i / len(shares), f"Step {i + 1} of {len(shares)}: {share:.0%} of the "
                                    f"traffic on version {version.version}")
            _propagate(settings)
            step = _bake(settings, name, (blue, green), share, plan, report, i / len(shares))
            steps.append(step)
            if on_step is not None:
                on_step(step)
            if step.breached:
                reason = (f"{step.breached} on version {version.version} at {share:.0%} of "
                          "the traffic")
                break
    except BaseException:  # stopped, or failed: the old version takes everything back
        _roll_back(records, server, name, current, "The rollout was interrupted.")
        raise
    if reason:
        _roll_back(records, server, name, current, f"Rolled back: {reason}.")
        report(1.0, f"Rolled back to version {current.version}: {reason}")
    else:
        records.switch(name, version.group, version.version)
        server.models.refresh(name)
        report(1.0, f"Version {version.version} serves all the traffic")
    return RolloutResult(
        endpoint=name, from_version=current.version, to_version=version.version,
        strategy=plan.strategy, plan=plan.to_json(), steps=steps, rolled_back=bool(reason),
        reason=reason, serving_version=current.version if reason else version.version)


def _bake(settings: Any, name: str, fleets: tuple[str, str], share: float,
          plan: RolloutPlan, report: Any, fraction: float) -> RolloutStep:
    """Watch the green fleet for `bake_s` seconds; stop at the first breach."""
    started = time.time()
    breached, green, blue = "", None, None
    while True:
        time.sleep(POLL_S)
        report(fraction, f"Baking {share:.0%} on the new version")  # a stop raises here
        found = window(settings, name, started)
        blue, green = found.get(fleets[0]), found.get(fleets[1])
        if green is not None and green.requests >= plan.min_requests:
            if green.error_rate > plan.max_error_rate:
                breached = (f"error rate {green.error_rate:.1%} > "
                            f"{plan.max_error_rate:.1%}")
            elif green.p99_ms is not None and green.p99_ms > plan.max_p99_ms:
                breached = f"p99 latency {green.p99_ms:g} ms > {plan.max_p99_ms:g} ms"
        if breached or time.time() - started >= plan.bake_s:
            break
    return RolloutStep(share=share, started=started, ended=time.time(),
                       requests=green.requests if green else 0,
                       errors=green.errors if green else 0,
                       error_rate=green.error_rate if green else None,
                       p99_ms=green.p99_ms if green else None,
                       baseline_requests=blue.requests if blue else 0, breached=breached)


def _propagate(settings: Any) -> None:
    """Wait until every server applies the new weights: at once in this process (its
    server was refreshed); another lab process's within its re-read interval."""
    from lab.serving._runtime import other_servers

    if other_servers(settings):
        time.sleep(PROPAGATE_S)


def _roll_back(records: Any, server: Any, name: str, current: Any, why: str) -> None:
    records.set_variants(name, [])
    records.update(name, status=IN_SERVICE, pending_version=None, failure=why)
    server.models.refresh(name)
    _propagate(server.settings)  # every server is back on the old version on return


def broken_version(settings: Any, base: Any) -> Any:
    """A new Approved version made broken on purpose: `base`'s model, expecting one more
    feature (BROKEN_FEATURE) than the callers send, so every request fails. (A classic: a
    model trained on a new feature before the clients send it.)"""
    import json
    import tempfile
    from pathlib import Path

    from lab.archive import extract_tar
    from lab.registry import APPROVED, open_registry
    from lab.training.artifact import pack
    from lab.workspace import Workspace

    artifact = Path(str(base.artifact))
    if not artifact.is_absolute():
        artifact = Workspace(settings.workspace).root / artifact
    if not artifact.is_file():
        artifact = _local_artifact(settings)
    registry = open_registry(settings)
    try:  # made inside the workspace: the registry takes only the workspace's files
        with tempfile.TemporaryDirectory(prefix=".broken-",
                                         dir=Workspace(settings.workspace).ensure("serving")
                                         ) as tmp:
            folder = Path(tmp) / "model"
            extract_tar(artifact, folder)
            meta = json.loads((folder / "model.json").read_text())
            meta["features"] = [*meta["features"], BROKEN_FEATURE]
            (folder / "model.json").write_text(json.dumps(meta, indent=2))
            packed = pack(folder, Path(tmp) / "model.tar.gz")
            version = registry.register(
                base.group, packed, source={"broken_from": base.version}, metadata=meta,
                description=f"Broken on purpose: version {base.version}'s model expecting "
                            f"{BROKEN_FEATURE}, which no caller sends")
        return registry.update_status(base.group, version.version, APPROVED,
                                      "Approved for the rollout demonstration (broken on "
                                      "purpose: expect a rollback)")
    finally:
        registry.close()


def _local_artifact(settings: Any) -> Any:
    """The best training run's model.tar.gz (on SageMaker the runs keep a local copy)."""
    from pathlib import Path

    from lab.registry import best_run

    run = best_run(settings)
    path = Path(str(getattr(run, "artifact", "") or ""))
    if not path.is_file():
        raise InputError("No local copy of a trained model to break: train a model first.")
    return path


def rollout_job(settings: Any, version: int | None = None, plan: RolloutPlan | None = None,
                broken: bool = False, traffic_rate: float = 50.0,
                endpoint: str | None = None) -> jobs.JobSpec:
    """A rollout as a job: checked first (the endpoint serves, the version is Approved and
    is not the one serving, the plan is sound, no other rollout runs)."""
    from lab.serving import open_endpoints
    from lab.serving._workshop import approved_version, default_endpoint, latest_approved
    from lab.workspace import Workspace

    plan = (plan or RolloutPlan()).check()
    if not 0 <= float(traffic_rate) <= 500:
        raise InputError("Send 0 to 500 requests a second during the rollout.")
    name = endpoint or default_endpoint(settings)
    endpoints = open_endpoints(settings)
    current = endpoints.describe(name)  # EndpointNotFoundError: deploy first
    running = [j for j in jobs.JobStore(Workspace(settings.workspace)).list(ROLLOUT_KIND)
               if not j.finished]
    if running:
        raise InputError(f"The rollout {running[0].job_id} is still running: wait for it to "
                         "end (or stop it).")
    if current.status == UPDATING:  # left by a rollout whose process died: undo it
        endpoints.recover(name)
    if broken:
        target = None
    elif version is not None:
        target = approved_version(settings, version, current.group or None)
    else:
        target = latest_approved(settings, current.group or None)
    if target is not None and target.version == current.version:
        raise InputError(f"Version {target.version} already serves {name}: approve another "
                         "version to roll out (or roll out a broken one to see a rollback).")

    def run(ctx: jobs.JobContext) -> dict[str, Any]:
        chosen = target
        if chosen is None:
            base = approved_version(settings, current.version, current.group or None)
            chosen = broken_version(settings, base)
            ctx.log(f"Registered version {chosen.version}: broken on purpose (it expects "
                    f"{BROKEN_FEATURE}, which no caller sends), Approved")
        ctx.log(f"Rolling out version {chosen.version} to {name} ({plan.strategy}: "
                f"{', '.join(f'{s:.0%}' for s in plan.shares())}; bake {plan.bake_s:g} s; "
                f"guardrails: error rate <= {plan.max_error_rate:.0%}, p99 <= "
                f"{plan.max_p99_ms:g} ms)")
        stream = _traffic(settings, name, traffic_rate, ctx)

        def progress(fraction: float, message: str) -> None:
            ctx.check_cancelled()
            ctx.progress(fraction, message)

        def on_step(step: RolloutStep) -> None:
            rate = "n/a" if step.error_rate is None else f"{step.error_rate:.1%}"
            ctx.log(f"{step.share:.0%} on version {chosen.version}: {step.requests} requests, "
                    f"error rate {rate}, p99 {step.p99_ms or 'n/a'} ms"
                    + (f": BREACHED ({step.breached})" if step.breached else ""))

        try:
            result = endpoints.rollout(name, chosen, plan, progress, on_step)
        finally:
            counts = stream.stop().to_json() if stream is not None else None
        ctx.log(result.reason or f"Version {chosen.version} serves {name}")
        if result.rolled_back and broken:
            from lab.registry import REJECTED, set_approval

            set_approval(settings, chosen.version, REJECTED, result.reason, chosen.group)
            ctx.log(f"Version {chosen.version} set to Rejected: {result.reason}")
        return {**result.to_json(), "traffic": counts}

    return jobs.JobSpec(ROLLOUT_KIND, {"endpoint": name, "version": version, "broken": broken,
                                       **plan.to_json()}, run)


def _traffic(settings: Any, name: str, rate: float, ctx: jobs.JobContext) -> Any:
    """The test split's rows, one per request, at `rate` a second (None when 0)."""
    from lab.serving._traffic import TrafficStream

    if rate <= 0:
        return None
    payloads = replay_rows(settings)
    ctx.log(f"Sending {rate:g} requests a second (test rows) while it runs")
    return TrafficStream(settings, name, payloads, rate).start()


def replay_rows(settings: Any, limit: int = 2000) -> list[str]:
    """The prepared test split's feature rows, as CSV payloads (the model's input)."""
    import csv

    from lab.processing import read_meta
    from lab.workspace import Workspace

    ws = Workspace(settings.workspace)
    meta = read_meta(ws.processed_dir)
    path = ws.processed_dir / "test" / "test.csv"
    if meta is None or not path.exists():
        raise InputError("There is no prepared test split to send: prepare the data first.")
    with open(path, newline="") as fh:
        rows = [",".join(r[1:]) for _, r in zip(range(limit), csv.reader(fh))]
    return rows


def run_all_rollout(settings: Any, options: dict[str, Any], echo) -> dict[str, Any]:
    """run-all's rollout: a broken version rolled out as a canary, under a steady stream of
    requests; its guardrail rolls it back (the endpoint keeps its version)."""
    started = time.perf_counter()
    plan = RolloutPlan("canary", canary_percent=20, bake_s=2.0)
    job = jobs.run(settings, rollout_job(settings, plan=plan, broken=True,
                                         traffic_rate=100), echo)
    out = job.outcome("rollout job")
    return {"rollout": {k: out[k] for k in ("endpoint", "from_version", "to_version",
                                            "rolled_back", "reason", "serving_version",
                                            "traffic")},
            "timings_s": {"rollout": round(time.perf_counter() - started, 4)}}


def rollout_done(ws: Any) -> bool:
    """The step's done-check: a rollout job completed (a file read)."""
    return any(j.status == jobs.COMPLETED for j in jobs.JobStore(ws).list(ROLLOUT_KIND))


def rollout_code(settings: Any) -> list:
    """What a rollout runs on the settings' backend (the step's "code that ran")."""
    from lab.serving import open_endpoints

    return [rollout_job, *open_endpoints(settings).rollout_code()]
