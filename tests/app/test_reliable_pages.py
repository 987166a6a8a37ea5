"""The Reliable stage's pages through AppTest: the drift report a learner makes, and the
monitoring view after "send traffic" (the issue's fourth "done when")."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from lab.jobs import JobStore
from lab.monitoring import TRAFFIC_KIND, make_baseline
from lab.serving import deploy_model, stop_server
from lab.workspace import Workspace
from tests.lab.serving.srv_helpers import approved_versions
from tests.workspaces import REPO, trained_settings

APP = str(REPO / "streamlit_app.py")


def open_page(workspace, page, monkeypatch) -> AppTest:
    monkeypatch.setenv("LAB_WORKSPACE", str(workspace))
    monkeypatch.delenv("LAB_WORKSHOP", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    return run(at.switch_page(page))


def run(what) -> AppTest:
    at = what.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    return " ".join(e.value for kind in ("markdown", "caption", "info", "success", "warning",
                                         "error") for e in getattr(at, kind))


@pytest.fixture
def served(tmp_path):
    """A trained workspace whose xgboost version serves the lab's endpoint."""
    settings = trained_settings(tmp_path)
    deploy_model(settings, approved_versions(settings)["xgboost"].version)
    yield settings
    stop_server(settings)


def test_the_drift_page_makes_a_baseline_and_shows_a_shift_in_one_feature(served,
                                                                          monkeypatch):
    at = open_page(served.workspace, "pages/drift.py", monkeypatch)
    assert "No baseline yet" in texts(at)
    run(next(b for b in at.button if b.label == "Make the baseline").click())
    assert "Baseline of 6,000 training rows" in at.success[0].value
    run(at.button(key="drift_compare").click())
    assert any("**No drift**" in s.value for s in at.success)
    at.selectbox(key="drift_shift_f").select("SQUARE_FEET")
    run(at.button(key="drift_compare").click())
    [warning] = [w.value for w in at.warning if "drifted" in w.value]
    assert "1 of 8 features drifted**: SQUARE_FEET" in warning
    charts = at.get("plotly_chart")
    assert any("SQUARE_FEET: PSI" in c.proto.spec for c in charts)


def test_the_monitoring_view_shows_captured_traffic_and_its_drift(served, monkeypatch):
    make_baseline(served)
    at = open_page(served.workspace, "pages/monitoring.py", monkeypatch)
    assert "No request in the last 15 minutes" in texts(at)
    run(next(b for b in at.button if b.label == "Apply").click())  # capture on
    assert "Data capture is **on**" in texts(at)
    at.selectbox(key="mon_shift_f").select("LOT_ACRES")
    at.number_input(key="mon_rate").set_value(500)
    run(at.button(key="mon_send").click())
    store, deadline = JobStore(Workspace(served.workspace)), time.monotonic() + 60
    while not (store.list(TRAFFIC_KIND) and store.list(TRAFFIC_KIND)[0].finished):
        assert time.monotonic() < deadline, "the traffic job did not finish"
        time.sleep(0.1)
    time.sleep(0.4)  # the server writes its metrics four times a second
    at = run(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Requests (15 min)"] == "300" and metrics["Captured requests"] == "300"
    assert any("Endpoint traffic" in c.proto.spec for c in at.get("plotly_chart"))
    assert any("feature(s) drifted** in what the endpoint received: LOT_ACRES" in w.value
               for w in at.warning)
    drift_table = next(d.value for d in at.dataframe if "PSI" in d.value.columns)
    assert list(drift_table.loc[drift_table["drifted"], "feature"]) == ["LOT_ACRES"]
