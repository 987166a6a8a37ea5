"""Local endpoints: approval as the gate, status, update without downtime, delete frees the
port, and endpoints that come back after a restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from lab import jobs
from lab.registry import NotApprovedError, default_group, open_registry
from lab.serving import (
    DEPLOY_KIND,
    ENDPOINT,
    EndpointExistsError,
    EndpointNotFoundError,
    InvocationError,
    delete_endpoint,
    deploy_job,
    deploy_model,
    describe_endpoint,
    endpoint_done,
    ensure_server,
    invoke_endpoint,
    list_endpoints,
    open_endpoints,
    resume_endpoints,
    running_server,
    server_url,
    stop_server,
)
from lab.training import load_model
from lab.workspace import Workspace
from tests.lab.serving.srv_helpers import approved_versions
from tests.workspaces import REPO

ROW = "0.5,-0.2,0.1,0.3,-1.0,0.0,1.0,-1.0"


def test_an_unapproved_version_is_refused_before_anything_starts(settings):
    versions = approved_versions(settings, approve=(), pending=("xgboost",))
    version = versions["xgboost"].version

    for deploy in (lambda: jobs.start(settings, deploy_job(settings, version)),  # the page's
                   lambda: jobs.run(settings, deploy_job(settings, version)),  # the CLI's
                   lambda: deploy_model(settings, version)):
        with pytest.raises(NotApprovedError, match="PendingManualApproval: only an Approved"):
            deploy()
    assert jobs.JobStore(Workspace(settings.workspace)).list(DEPLOY_KIND) == []
    assert list_endpoints(settings) == [] and running_server(settings) is None
    assert resume_endpoints(settings) is None and running_server(settings) is None
    with pytest.raises(EndpointNotFoundError):  # and never AWS's own runtime instead
        invoke_endpoint(settings, None, ROW)


def test_deploy_job_brings_the_endpoint_in_service(settings, versions):
    started = time.perf_counter()
    job = jobs.run(settings, deploy_job(settings, versions["xgboost"].version))
    assert job.status == jobs.COMPLETED, job.error
    assert time.perf_counter() - started < 10  # the budget is 3 s; measured by the bench

    endpoint = describe_endpoint(settings)
    assert (endpoint.name, endpoint.status, endpoint.version) == (ENDPOINT, "InService", 1)
    assert endpoint.url == running_server(settings).url and endpoint.url.startswith(
        "http://127.0.0.1:")
    assert endpoint.invocation_url == f"{endpoint.url}/endpoints/{ENDPOINT}/invocations"
    assert job.result["status"] == "InService" and job.result["url"] == endpoint.url
    assert [e.name for e in list_endpoints(settings)] == [ENDPOINT]
    assert endpoint_done(Workspace(settings.workspace))
    log = jobs.JobStore(Workspace(settings.workspace)).log(job.job_id)
    assert "InService" in log


def test_a_background_deploy_job_is_followed_like_the_page_does(settings, versions):
    job_id = jobs.start(settings, deploy_job(settings, versions["xgboost"].version,
                                             "my-endpoint"))
    store = jobs.JobStore(Workspace(settings.workspace))
    deadline = time.time() + 30
    while not store.get(job_id).finished and time.time() < deadline:
        time.sleep(0.05)
    assert store.get(job_id).status == jobs.COMPLETED
    assert describe_endpoint(settings, "my-endpoint").status == "InService"


def test_names_are_checked_and_unique(settings, versions, endpoint):
    endpoints = open_endpoints(settings)
    with pytest.raises(EndpointExistsError, match="update it"):
        endpoints.create(ENDPOINT, versions["xgboost"])
    with pytest.raises(Exception, match="not a valid endpoint name"):
        jobs.run(settings, deploy_job(settings, 1, "bad_name"))
    with pytest.raises(EndpointNotFoundError):
        describe_endpoint(settings, "other")


def test_update_switches_versions_without_downtime(settings, versions, endpoint):
    forest = versions["random_forest"]
    answers, errors, stop = [], [], threading.Event()

    def hammer():
        while not stop.is_set():
            try:
                answers.append(invoke_endpoint(settings, None, ROW).predictions[0])
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

    thread = threading.Thread(target=hammer)
    thread.start()
    deadline = time.time() + 10
    while len(answers) < 5 and time.time() < deadline:
        time.sleep(0.01)
    updated = deploy_model(settings, forest.version)  # the endpoint exists: an update
    time.sleep(0.3)
    stop.set()
    thread.join()

    assert errors == [] and len(answers) > 10
    rows = np.array([[float(v) for v in ROW.split(",")]])
    old = float(load_model(versions["xgboost"].artifact).predict(rows)[0])
    new = float(load_model(forest.artifact).predict(rows)[0])
    assert set(answers) <= {old, new} and answers[0] == old and answers[-1] == new
    assert (updated.version, updated.status, updated.pending_version) == (2, "InService", None)


def test_a_version_that_does_not_load_fails_the_deploy(settings, versions):
    broken = versions["random_forest"]
    with open(broken.artifact, "wb") as fh:
        fh.write(b"not a model any more")

    job = jobs.run(settings, deploy_job(settings, broken.version))

    assert job.status == jobs.FAILED and "not a readable model.tar.gz" in job.error
    endpoint = describe_endpoint(settings)
    assert endpoint.status == "Failed" and "model.tar.gz" in endpoint.failure
    assert endpoint.url is None
    with pytest.raises(InvocationError, match="is Failed"):
        invoke_endpoint(settings, None, ROW)


def test_deleting_the_last_endpoint_stops_the_server_and_frees_its_port(settings, port):
    deploy_model(settings, 2, "second")
    delete_endpoint(settings, "second")
    assert running_server(settings) is not None  # one endpoint left: still serving

    delete_endpoint(settings)

    assert running_server(settings) is None and server_url(settings) is None
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    with socket.socket() as probe:  # nothing holds the port any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
    with pytest.raises(EndpointNotFoundError):
        delete_endpoint(settings)
    assert not endpoint_done(Workspace(settings.workspace))


def test_endpoints_come_back_after_a_restart_at_the_same_url(settings, url):
    expected = invoke_endpoint(settings, None, ROW).predictions
    stop_server(settings)  # the app stops; the records stay InService
    assert describe_endpoint(settings).status == "InService"
    assert describe_endpoint(settings).url is None  # nobody serves it right now

    assert resume_endpoints(settings) == url  # the app starts again (router or page)

    server = ensure_server(settings)  # the server resume_endpoints started
    assert server.url == url
    deadline = time.time() + 10
    while ENDPOINT not in server.models.names() and time.time() < deadline:
        time.sleep(0.05)  # the restarted server loads the InService models by itself
    assert ENDPOINT in server.models.names()
    assert invoke_endpoint(settings, None, ROW).predictions == expected


def test_the_foreground_server_of_another_process_is_used(settings, endpoint):
    stop_server(settings)
    code = ("import sys; from lab.settings import Settings; from lab.serving import "
            "serve_forever; serve_forever(Settings(workspace=sys.argv[1]), 0, "
            "lambda line: print(line, flush=True))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(settings.workspace)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        first = proc.stdout.readline()
        assert first.startswith("Serving 1 endpoint(s)") and "http://127.0.0.1:" in first
        served_url = first.split(" at ")[-1].strip()
        assert proc.stdout.readline().strip() == (
            f"{served_url}/endpoints/{ENDPOINT}/invocations")
        assert server_url(settings) == served_url  # found through its announcement file
        assert invoke_endpoint(settings, None, ROW).predictions  # no server started here
        assert running_server(settings) is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
    assert proc.returncode == 0
    assert not list((settings.workspace / "serving" / "servers").glob("*.json"))


def test_a_dead_servers_announcement_is_ignored(settings, endpoint):
    servers = settings.workspace / "serving" / "servers"
    (servers / "999999-1.json").write_text(json.dumps(
        {"pid": 999999, "port": 1, "url": "http://127.0.0.1:1"}))
    stop_server(settings)
    assert server_url(settings) is None
    assert not (servers / "999999-1.json").exists()
    assert not list(servers.glob(f"{os.getpid()}-*.json"))


def test_an_endpoint_serves_what_the_registry_holds(settings, versions, endpoint):
    registry = open_registry(settings)
    version = registry.describe_version(default_group(settings), endpoint.version)
    assert version.approved and endpoint.group == version.group


def test_a_failed_endpoint_says_so_when_no_server_runs(settings, versions):
    broken = versions["random_forest"]
    with open(broken.artifact, "wb") as fh:
        fh.write(b"broken")
    jobs.run(settings, deploy_job(settings, broken.version))
    stop_server(settings)

    with pytest.raises(InvocationError, match="lab-housing-endpoint is Failed"):
        invoke_endpoint(settings, None, ROW)
    assert running_server(settings) is None  # nothing to serve: no server started
