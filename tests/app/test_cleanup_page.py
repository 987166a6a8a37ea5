"""The Resources & cleanup page, the sidebar's running endpoints and connection check, the
launch prices and the code that ran on SageMaker, through AppTest."""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from lab.jobs import JobStore
from lab.workspace import Workspace
from tests.workspaces import REPO

APP = str(REPO / "streamlit_app.py")


def open_app(workspace, monkeypatch, page: str | None = None, **env: str) -> AppTest:
    monkeypatch.setenv("LAB_WORKSPACE", str(workspace))
    monkeypatch.delenv("LAB_WORKSHOP", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(what) -> AppTest:
    at = what.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at, *kinds) -> str:
    kinds = kinds or ("markdown", "caption", "info", "success", "warning", "error")
    return " ".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def wait_for_jobs(workspace, kind="cleanup") -> None:
    store, deadline = JobStore(Workspace(workspace)), time.monotonic() + 60
    while time.monotonic() < deadline:
        found = store.list(kind)
        if found and all(j.finished for j in found):
            return
        time.sleep(0.05)
    raise AssertionError("the cleanup job did not finish")


def test_list_then_delete_the_workspace_stores(trained, monkeypatch):
    at = open_app(trained.workspace, monkeypatch, "pages/cleanup.py")
    assert at.title[0].value == "Resources & cleanup"
    assert at.button(key="cleanup_delete").disabled  # not before the box is ticked

    run(at.button(key="cleanup_list").click())
    wait_for_jobs(trained.workspace)
    at = run(at)
    [table] = [d.value for d in at.dataframe if "costs" in d.value.columns]
    assert set(table["kind"]) == {"feature-group", "local-store"}

    at = run(at.checkbox(key="cleanup_confirm").check())
    run(at.button(key="cleanup_delete").click())
    wait_for_jobs(trained.workspace)
    at = run(at)
    assert "Nothing is left." in texts(at, "success")


def test_the_sidebar_flags_a_running_endpoint(trained, monkeypatch):
    from lab.serving._records import EndpointRecords

    at = open_app(trained.workspace, monkeypatch)
    assert "running" not in texts(at.sidebar, "error", "info")
    records = EndpointRecords(trained)
    records.create("lab-housing-endpoint", "lab-housing-models", 1)
    records.update("lab-housing-endpoint", status="InService")
    at = run(at)
    assert "1 endpoint(s) running" in texts(at.sidebar, "info")  # free: no alarm
    assert "lab-housing-endpoint (InService, local: free)" in texts(at.sidebar, "info")


def test_sagemaker_without_credentials_says_what_to_do_and_local_keeps_working(
        tmp_path, monkeypatch):
    at = open_app(tmp_path / "ws", monkeypatch, LAB_BACKEND="sagemaker",
                  LAB_SAGEMAKER_ROLE="arn:aws:iam::123456789012:role/R",
                  AWS_DEFAULT_REGION="us-east-1")
    assert "No AWS credentials found" in texts(at.sidebar, "warning")
    at = run(at.sidebar.button(key="sidebar_check").click())
    errors = texts(at.sidebar, "error")
    assert "**Credentials**: No AWS credentials were found. *Fix:* Run `aws configure`" in errors
    assert "Not checked" not in texts(at.sidebar)  # the sidebar shows what failed only
    at = run(at.switch_page("pages/cleanup.py"))
    assert "Connection" in [h.value for h in at.header]
    at = run(at.sidebar.radio[0].set_value("local"))  # back to the local backend
    assert not texts(at.sidebar, "warning") and "Connection" not in [
        h.value for h in at.header]


def test_sagemaker_pages_show_the_launch_price_and_the_code_that_ran(prepared, monkeypatch):
    from lab.aws.ledger import Ledger

    code = 'processor.run(job_name="mlops-lab-processing-1")  # the real call'
    record = Ledger(prepared).start("processing", "processing-job",
                                    "mlops-lab-processing-1", code=code, use="processing",
                                    instance_type="ml.m5.large", instance_count=1)
    Ledger(prepared).finish(record, "Completed", 312.0)
    at = open_app(prepared.workspace, monkeypatch, "pages/prep.py", LAB_BACKEND="sagemaker")
    shown = texts(at, "caption")
    assert "Before you launch: 1 × ml.m5.large at $0.115/h each: about $0.0096 for 5 min" in (
        shown)
    assert "price table of 2025-01" in shown
    assert code in [c.value for c in at.code]
    assert "billed 312 s (1 × ml.m5.large at $0.115/h each: about $0.0100 for 5 min)" in shown


def test_training_shows_the_launch_price_of_a_job_and_of_a_tuning_job(trained, monkeypatch):
    at = open_app(trained.workspace, monkeypatch, "pages/training.py", LAB_BACKEND="sagemaker")
    shown = texts(at, "caption")
    assert "Before you launch: 1 × ml.m5.large at $0.115/h each: about $0.0077 for 4 min" in (
        shown)
    assert "about $0.0307 for 16 min" in shown  # the workshop's tuning job: 4 trials
