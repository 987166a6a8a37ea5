"""The training page through AppTest: train, see the run's numbers, tune, compare."""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from lab.formats import number
from lab.jobs import JobStore
from lab.training import Experiments
from lab.training import _local as local_engine
from lab.workspace import Workspace
from tests.workspaces import REPO

APP = str(REPO / "streamlit_app.py")
PAGE = "pages/training.py"


@pytest.fixture
def small_ws(small):
    """A workspace whose feature store holds a small prepared dataset (360/120/120 rows)."""
    return Workspace(small.workspace)


def open_training(ws, monkeypatch):
    monkeypatch.setenv("LAB_WORKSPACE", str(ws.root))
    monkeypatch.delenv("LAB_WORKSHOP", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def wait_all(ws, kind, timeout=120):
    store = JobStore(ws)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = store.list(kind)
        if found and all(j.finished for j in found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{kind} jobs did not finish")


def set_fast(at, algorithm="xgboost", depth=3, rounds=20):
    at.number_input(key=f"hp_{algorithm}_max_depth").set_value(depth)
    at.number_input(key=f"hp_{algorithm}_n_estimators").set_value(rounds)


def specs(at):
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_without_feature_store_data_the_page_says_so_and_can_get_it(ws, monkeypatch):
    at = open_training(ws, monkeypatch)
    assert at.title[0].value == "Training & experiments"
    assert "**Prepare the data**, **Feature Store**" in at.info[0].value
    assert not at.get("plotly_chart") and not [b for b in at.button if b.key == "train"]
    at.button(key="prereq_run_training").click().run()
    assert not at.exception
    [job] = wait_all(ws, "lab-run")
    assert job.status == "Completed" and job.result["steps"] == ["prep", "features"], job.error
    at.run()
    assert not at.exception
    assert [b for b in at.button if b.key == "train"]
    assert not [i for i in at.info if "have not run yet" in i.value]


def test_train_and_see_charts_holding_the_runs_numbers(small_ws, monkeypatch):
    at = open_training(small_ws, monkeypatch)
    set_fast(at)
    at.button(key="train").click().run()
    assert not at.exception
    [job] = wait_all(small_ws, "training")
    at.run()
    assert not at.exception
    assert job.status == "Completed", job.error
    run = Experiments(small_ws).get(job.job_id)
    assert [m.value for m in at.metric] == [number(run.metrics[k])
                                           for k in ("mse", "rmse", "r2", "mae")]
    assert "e+" not in at.metric[0].value and "," in at.metric[0].value  # 1,234,567
    figures = {f["layout"]["title"]["text"].split(" (")[0].split(":")[0]: f for f in specs(at)}
    curve = figures["Learning curve"]["data"]
    assert curve[0]["y"] == pytest.approx(run.curve["validation-rmse"])
    assert curve[0]["x"] == list(range(1, 21))
    predictions = run.predictions_data()
    pva = figures["Predicted vs actual, test split"]["data"][0]
    assert pva["x"] == pytest.approx(predictions["actual"])
    assert pva["y"] == pytest.approx(predictions["predicted"])
    residuals = figures["Residuals, test split"]["data"][0]["y"]
    assert residuals[0] == pytest.approx(predictions["actual"][0] - predictions["predicted"][0])
    importance = figures["Feature importance"]["data"][0]
    assert sum(importance["x"]) == pytest.approx(1.0) and len(importance["y"]) == 8
    assert any(job.job_id in m.value for m in at.markdown)
    assert any("MSE: " in c.value for c in at.code)  # the job's log (folded), on the page


def test_a_bad_hyperparameter_shows_a_message_and_runs_nothing(small_ws, monkeypatch):
    at = open_training(small_ws, monkeypatch)
    at.number_input(key="hp_xgboost_max_depth").set_value(-1)
    at.button(key="train").click().run()
    assert not at.exception
    assert "max_depth must be between 1 and 20 (got -1)" in at.error[0].value
    assert JobStore(small_ws).list() == [] and Experiments(small_ws).list() == []


def test_a_failed_run_is_explained(small_ws, monkeypatch, tmp_path):
    script = tmp_path / "failing.py"
    script.write_text("import sys\nprint('ERROR: the data has no rows (simulated)')\n"
                      "sys.exit(1)\n")
    monkeypatch.setattr(local_engine, "ENTRY_POINT", script)
    at = open_training(small_ws, monkeypatch)
    at.button(key="train").click().run()
    [job] = wait_all(small_ws, "training")
    at.run()
    assert not at.exception
    assert job.status == "Failed"
    assert any("the data has no rows (simulated)" in e.value and "failed" in e.value
               for e in at.error)
    assert Experiments(small_ws).get(job.job_id).status == "Failed"


def test_tuning_keeps_running_away_from_the_page_and_shows_its_trials(small_ws, monkeypatch):
    at = open_training(small_ws, monkeypatch)
    set_fast(at)
    at.number_input(key="min_xgboost_max_depth").set_value(2)
    at.number_input(key="max_xgboost_max_depth").set_value(4)
    at.number_input(key="min_xgboost_n_estimators").set_value(5)
    at.number_input(key="max_xgboost_n_estimators").set_value(15)
    at.number_input(key="max_jobs").set_value(2)
    at.number_input(key="max_parallel").set_value(2)
    at.button(key="tune").click().run()
    assert not at.exception
    at.switch_page("pages/home.py").run()  # navigate away while it runs
    assert not at.exception
    [job] = wait_all(small_ws, "tuning")
    assert job.status == "Completed", job.error
    at.switch_page(PAGE).run()
    assert not at.exception
    trials = Experiments(small_ws).list(tuning_job=job.job_id)
    assert len(trials) == 2
    table = [t for t in at.dataframe if "trial" in t.value.columns][0].value
    assert sorted(table["trial"].tolist()) == [1, 2]
    best = min(trials, key=lambda t: t.validation["mse"])
    assert table.iloc[0]["trial"] == best.trial and table.iloc[0]["best"] == "★"
    figures = {f["layout"]["title"]["text"]: f for f in specs(at)}
    objective = figures["Validation mse by trial (minimize)"]["data"][0]
    assert objective["y"] == pytest.approx([t.validation["mse"] for t in trials])
    parcoords = figures["Hyperparameters against mse"]["data"][0]["dimensions"]
    assert [d["label"] for d in parcoords] == ["max_depth", "n_estimators", "mse"]
    assert parcoords[0]["values"] == [t.params["max_depth"] for t in trials]
    # compare the two trials: parameters side by side, differing rows flagged
    at.multiselect(key="compare").set_value([t.run_id for t in trials]).run()
    assert not at.exception
    compare = [d for d in at.dataframe if "differs" in d.value.columns]
    assert compare, "no comparison table"
    table = compare[0].value
    labels = [c for c in table.columns if c not in ("section", "name", "differs")]
    assert len(labels) == 2
    for _, row in table.iterrows():
        assert bool(row["differs"]) == (len({row[label] for label in labels}) > 1)
    depth = table[(table["section"] == "parameter") & (table["name"] == "max_depth")].iloc[0]
    assert sorted(depth[labels]) == sorted(str(t.params["max_depth"]) for t in trials)
    assert not table[table["name"] == "algorithm"].iloc[0]["differs"]
