"""Speed figures of the local endpoint, measured, never asserted.

Budgets (from the issue): deploy to InService under 3 s; a one-row invoke over HTTP p99
under 5 ms and at least 500 requests/s from one client; a 1,000-row CSV invoke under
50 ms. The server runs as the app runs it (a background thread of this process); the
client is another process, as a learner's notebook is, on one keep-alive connection.

Everything happens in a scratch workspace, so the learner's registry and endpoints gain
nothing: the model is the workspace's best trained one when there is one, otherwise an
XGBoost model with the lab's default hyperparameters is trained there first.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lab.settings import Settings
from lab.workspace import Workspace

DEPLOY_BUDGET_S, INVOKE_BUDGET_MS, RPS_BUDGET, BATCH_BUDGET_MS = 3.0, 5.0, 500.0, 50.0
ROOT = Path(__file__).resolve().parent.parent.parent

# The client: plain http.client on one keep-alive connection, so the figures are the
# server's and the protocol's, not a client library's.
_CLIENT = r"""
import http.client, json, sys, time
port, path, one, many, counts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
n_one, n_batches, batch, n_many = (int(x) for x in counts.split(","))
conn = http.client.HTTPConnection("127.0.0.1", int(port))
headers = {"Content-Type": "text/csv", "Accept": "application/json"}
def call(body):
    started = time.perf_counter()
    conn.request("POST", path, body=body, headers=headers)
    reply = conn.getresponse()
    data = reply.read()
    if reply.status != 200:
        raise SystemExit(data.decode())
    return time.perf_counter() - started
one, many = one.encode(), open(many, "rb").read()
for _ in range(200):
    call(one)
out = {"one": [call(one) * 1000 for _ in range(n_one)], "rps": [], "many": []}
for _ in range(n_batches):
    started = time.perf_counter()
    for _ in range(batch):
        call(one)
    out["rps"].append(batch / (time.perf_counter() - started))
call(many)
out["many"] = [call(many) * 1000 for _ in range(n_many)]
print(json.dumps(out))
"""


def bench_figures(settings: Any, runs: int | None = None) -> list[dict[str, Any]]:
    """[{"name", "unit", "samples", "budget"}] for deploy, one-row latency and throughput,
    and a 1,000-row invoke."""
    from lab.serving import running_server, stop_server

    deploys = runs or 5
    with tempfile.TemporaryDirectory(prefix="lab-serving-bench-") as tmp:
        scratch = Settings(workspace=Path(tmp) / "ws")
        try:
            version, rows = _prepare(settings, scratch)
            deploy_s = _deploy_times(scratch, version, deploys)
            server = running_server(scratch)
            one = rows[0]
            many = Path(tmp) / "rows.csv"
            many.write_text("\n".join((rows * (1000 // len(rows) + 1))[:1000]))
            counts = f"{2000},{runs or 10},{200},{max(20, runs or 50)}"
            out = subprocess.run(
                [sys.executable, "-c", _CLIENT, str(server.port),
                 f"/endpoints/{_ENDPOINT}/invocations", one, str(many), counts],
                capture_output=True, text=True, check=True, timeout=600).stdout
            samples = json.loads(out)
        finally:
            stop_server(scratch)
    return [
        {"name": "endpoint: deploy to InService (local)", "unit": "s", "samples": deploy_s,
         "budget": DEPLOY_BUDGET_S},
        {"name": "endpoint: one-row invoke over HTTP", "unit": "ms", "samples": samples["one"],
         "budget": INVOKE_BUDGET_MS},
        {"name": "endpoint: one-row requests/s, one client (higher is better)",
         "unit": "req/s", "samples": samples["rps"], "budget": RPS_BUDGET},
        {"name": "endpoint: 1,000-row CSV invoke", "unit": "ms", "samples": samples["many"],
         "budget": BATCH_BUDGET_MS},
    ]


_ENDPOINT = "lab-bench-endpoint"


def _prepare(settings: Any, scratch: Settings) -> tuple[int, list[str]]:
    """An approved version in the scratch registry, and test rows as CSV lines."""
    from lab.processing import load_prepared, run_prep
    from lab.registry import APPROVED, best_run, default_group, open_registry
    from lab.serving import to_csv

    source = Workspace(settings.workspace)
    if load_prepared(source.processed_dir) is None:
        run_prep(source)
    shutil.copytree(source.processed_dir, Workspace(scratch.workspace).processed_dir)
    run = best_run(Settings(workspace=source.root)) if source.path(
        "experiments.db").exists() else None
    artifact = run.artifact if run is not None and Path(run.artifact).is_file() else None
    if artifact is None:
        artifact = _train(scratch)
    else:  # the registry loads only its own workspace's files: copy the model in
        copied = Workspace(scratch.workspace).ensure("incoming") / "model.tar.gz"
        shutil.copyfile(artifact, copied)
        artifact = str(copied)
    registry, group = open_registry(scratch), default_group(scratch)
    registry.create_group(group)
    version = registry.register(group, artifact)
    registry.update_status(group, version.version, APPROVED, "bench")
    test = load_prepared(Workspace(scratch.workspace).processed_dir)["test"]
    features = test[version.features].to_numpy(float)[:200]
    return version.version, to_csv(features).splitlines()


def _train(scratch: Settings) -> str:
    from lab import jobs
    from lab.featurestore import ingest_prepared
    from lab.training import training_job

    ingest_prepared(scratch)
    job = jobs.run(scratch, training_job(scratch, "xgboost"))
    if job.error:
        raise RuntimeError(f"the bench could not train a model: {job.error}")
    return job.result["artifact"]


def _deploy_times(scratch: Settings, version: int, runs: int) -> list[float]:
    """Each deploy from nothing: the last endpoint's deletion stopped the server, so every
    run starts the server and loads the model again. One warm-up deploy first."""
    from lab.serving import delete_endpoint, deploy_model

    samples = []
    for i in range(runs + 1):
        started = time.perf_counter()
        endpoint = deploy_model(scratch, version, _ENDPOINT)
        elapsed = time.perf_counter() - started
        if endpoint.status != "InService":
            raise RuntimeError(f"the bench endpoint is {endpoint.status}: {endpoint.failure}")
        if i:
            samples.append(elapsed)
        if i < runs:
            delete_endpoint(scratch, _ENDPOINT)
    return samples
