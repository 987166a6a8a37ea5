"""The Registry & deployment page through AppTest: register, approve, deploy, predict."""

from __future__ import annotations

import contextlib
import io
import time

import pytest
from streamlit.testing.v1 import AppTest

from lab.jobs import JobStore
from lab.serving import DEPLOY_KIND, ENDPOINT, running_server, stop_server
from lab.workspace import Workspace
from tests.workspaces import REPO, trained_settings

APP = str(REPO / "streamlit_app.py")
PAGE = "pages/registry.py"


def open_registry_page(workspace, monkeypatch) -> AppTest:
    monkeypatch.setenv("LAB_WORKSPACE", str(workspace))
    monkeypatch.delenv("LAB_WORKSHOP", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(what) -> AppTest:
    """Run the app (or click's element's app); a page exception fails the test."""
    at = what.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


TABLES = {"reg_table": "version", "reg_history": "by", "reg_compare": "B - A",
          "dep_table": "endpoint", "inf_record": "event_time", "inf_rows_table": "prediction"}


def table(at: AppTest, name: str):
    """A dataframe of the page, found by a column only it has (AppTest keeps no keys)."""
    found = [d.value for d in at.dataframe if TABLES[name] in d.value.columns]
    if not found:
        raise KeyError(name)
    return found[0]


def wait_for_deploy(settings) -> None:
    store = JobStore(Workspace(settings.workspace))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = store.list(DEPLOY_KIND)
        if found and all(j.finished for j in found):
            return
        time.sleep(0.05)
    raise AssertionError("the deploy job did not finish")


@pytest.fixture
def trained(tmp_path):
    settings = trained_settings(tmp_path)
    yield settings
    stop_server(settings)


def test_without_a_trained_model_the_page_offers_the_steps_before_it(ws, monkeypatch):
    at = open_registry_page(ws.root, monkeypatch)
    assert at.title[0].value == "Registry & deployment"
    assert "**Training & experiments**" in at.info[0].value
    assert "training" in [link.proto.page for link in at.get("page_link")]
    assert [b for b in at.button if b.key == "prereq_run_registry"]
    assert not at.dataframe


def test_register_approve_deploy_and_predict(trained, monkeypatch):
    at = open_registry_page(trained.workspace, monkeypatch)
    assert "Nothing registered" in at.info[0].value

    run(at.button(key="reg_register").click())
    versions = table(at, "reg_table")
    assert list(versions["version"]) == [1]
    assert list(versions["status"]) == ["PendingManualApproval"]
    assert {"test mse", "test r2"} <= set(versions.columns)

    run(at.button(key="dep_deploy").click())  # version 1 is not approved yet
    assert "only an Approved version may be deployed" in at.error[0].value
    assert JobStore(Workspace(trained.workspace)).list(DEPLOY_KIND) == []

    at.radio(key="reg_status").set_value("Approved")
    at.text_input(key="reg_comment").input("r2 above the baseline")
    run(_submit(at))
    assert list(table(at, "reg_table")["status"]) == ["Approved"]
    history = table(at, "reg_history")
    assert list(history["status"]) == ["PendingManualApproval", "Approved"]
    assert list(history["comment"]) == ["Registered", "r2 above the baseline"]

    run(at.button(key="dep_deploy").click())
    wait_for_deploy(trained)
    run(at)
    endpoints = table(at, "dep_table")
    assert list(endpoints["status"]) == ["InService"]
    url = running_server(trained).url
    assert list(endpoints["URL"]) == [f"{url}/endpoints/{ENDPOINT}/invocations"]
    assert any("is InService, serving version 1" in s.value for s in at.success)

    run(at.button(key="inf_offline").click())
    rows = table(at, "inf_rows_table")
    assert list(rows["record_id"]) == [0, 1, 2, 3, 4] and "PRICE" in rows.columns
    assert at.metric[0].label == "Request latency" and at.metric[0].value.endswith(" ms")

    at.number_input(key="inf_record_id").set_value(42)
    run(at.button(key="inf_online").click())
    record = table(at, "inf_record")
    assert list(record["record_id"]) == [42]
    prediction = table(at, "inf_rows_table")
    payload = next(c.value for c in at.code if c.language == "text")
    assert len(payload.split(",")) == 8
    assert float(prediction["PRICE"][0]) == float(record["PRICE"][0])

    boto3_code = next(c.value for c in at.code if "featurestore_runtime" in c.value
                      and "boto3.client" in c.value)
    assert url in boto3_code and 'RecordIdentifierValueAsString="42"' in boto3_code
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(boto3_code, "page's boto3 code", "exec"), {})
    assert printed.getvalue().startswith(payload + " -> [")
    assert str(prediction["prediction"][0]) in printed.getvalue()


def _submit(at: AppTest):
    """The approval form's submit button (form buttons have no key of their own)."""
    return next(b for b in at.button if b.label == "Update the approval status").click()


def test_compare_update_and_delete(trained, monkeypatch):
    from lab.registry import APPROVED, register_model, set_approval
    from lab.training import Experiments

    runs = Experiments(trained.workspace).list()
    for run_ in runs:
        version = register_model(trained, run_id=run_.run_id)
        set_approval(trained, version.version, APPROVED, "ok")
    at = open_registry_page(trained.workspace, monkeypatch)
    compare = table(at, "reg_compare")
    assert list(compare.columns) == ["", "v1", "v2", "B - A"]
    assert "test mse" in list(compare[""]) and "algorithm" in list(compare[""])

    run(at.button(key="dep_deploy").click())
    wait_for_deploy(trained)
    run(at)
    assert list(table(at, "dep_table")["version"]) == [2]
    port = running_server(trained).port

    run(at.button(key="dep_delete").click())
    assert running_server(trained) is None
    import socket

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    with pytest.raises(KeyError):
        table(at, "dep_table")


def test_the_endpoint_comes_back_after_an_app_restart(trained, monkeypatch):
    from lab.registry import APPROVED, register_model, set_approval
    from lab.serving import deploy_model

    version = register_model(trained)
    set_approval(trained, version.version, APPROVED, "ok")
    deploy_model(trained, version.version)
    url = running_server(trained).url
    stop_server(trained)  # the app process ends

    at = open_registry_page(trained.workspace, monkeypatch)  # a new session after a restart

    assert running_server(trained).url == url
    assert list(table(at, "dep_table")["status"]) == ["InService"]
    run(at.button(key="inf_offline").click())
    assert len(table(at, "inf_rows_table")) == 5


def test_viewing_the_page_writes_nothing(trained, monkeypatch):
    from tests.workspaces import snapshot

    before = snapshot(trained.workspace)
    open_registry_page(trained.workspace, monkeypatch)
    assert snapshot(trained.workspace) == before


def test_on_sagemaker_without_setup_the_page_says_what_is_missing(trained, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "LAB_SAGEMAKER_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    at = open_registry_page(trained.workspace, monkeypatch)
    run(at.sidebar.radio[0].set_value("sagemaker"))
    assert at.title[0].value == "Registry & deployment"
    assert "credentials" in at.error[0].value.lower()
