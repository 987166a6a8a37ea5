"""The Pipelines page through AppTest: launch, live DAG, cache hits, definitions, deploy."""

from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from lab.pipelines import describe_execution, list_executions
from lab.settings import Settings
from tests.lab.pipelines.pipe_helpers import FAST, run_pipeline, small_settings, wait_for
from tests.workspaces import REPO

APP = str(REPO / "streamlit_app.py")


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """A workspace with two executions (cold, then all cached): run once, copied per test."""
    settings = small_settings(tmp_path_factory.mktemp("pipepage"))
    return settings, run_pipeline(settings, FAST), run_pipeline(settings, FAST)


@pytest.fixture
def page(tmp_path, monkeypatch):
    settings = small_settings(tmp_path)
    at = open_pipelines(settings, monkeypatch)
    return at, settings


def open_pipelines(settings, monkeypatch):
    monkeypatch.setenv("LAB_WORKSPACE", str(settings.workspace))
    monkeypatch.delenv("LAB_WORKSHOP", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("pages/pipelines.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def set_form(at, values):
    for name, value in values.items():
        at.number_input(key=f"pipe_form_{name}").set_value(value)


def test_page_explains_and_draws_the_dag_before_any_run(page):
    at, _ = page
    assert at.title[0].value == "Pipelines"
    assert "hand-off" in " ".join(m.value for m in at.markdown)
    dot = at.get("graphviz_chart")[0].proto.spec
    for step in ("PreprocessData", "TrainModel", "EvaluateModel", "CheckMSE", "RegisterModel"):
        assert step in dot
    assert "#e5e7eb" in dot  # grey: not started
    assert "No execution yet" in " ".join(i.value for i in at.info)


def copied(ran, tmp_path) -> Settings:
    shutil.copytree(ran[0].workspace, tmp_path / "copy")
    return Settings(workspace=tmp_path / "copy")


def test_launch_from_the_form_runs_in_the_background_and_shows_the_result(ran, tmp_path,
                                                                           monkeypatch):
    settings = copied(ran, tmp_path)
    at = open_pipelines(settings, monkeypatch)
    set_form(at, FAST)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, [e.value for e in at.exception]
    job_id = at.session_state["pipe_exec"]  # the page keeps the job of the execution
    ex = wait_for(settings, job_id)
    assert ex.id not in (ran[1].id, ran[2].id)
    assert list_executions(settings)[0].id == ex.id
    at.run()
    assert not at.exception
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "#86efac" in dot and "Succeeded" in dot
    assert any("Succeeded" in m.value and ex.id in m.value for m in at.markdown)
    gantt = [c.proto.spec for c in at.get("plotly_chart")]
    assert any("Timeline of" in g and "TrainModel" in g for g in gantt)
    assert at.dataframe  # the execution list


def test_a_cache_hit_is_marked_and_its_source_named(ran, tmp_path, monkeypatch):
    _, first, second = ran
    at = open_pipelines(copied(ran, tmp_path), monkeypatch)
    at.session_state["pipe_exec"] = second.job_id
    at.run()
    dot = at.get("graphviz_chart")[0].proto.spec
    assert "cached" in dot and "peripheries=2" in dot
    at.selectbox(key="pipe_exec_step").select("TrainModel").run()
    assert any(first.id in s.value for s in at.success)


def test_picking_an_execution_in_the_table_shows_it_above(ran, tmp_path, monkeypatch):
    _, first, second = ran
    settings = copied(ran, tmp_path)
    at = open_pipelines(settings, monkeypatch)
    assert any(second.id in m.value for m in at.markdown)  # the latest, after a reload
    at.selectbox(key="pipe_pick").select(first.id).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["pipe_exec"] == first.job_id  # its job is the one shown
    shown = [m.value for m in at.markdown if m.value.startswith("Execution **")]
    assert shown and first.id in shown[0]
    assert "cached" not in at.get("graphviz_chart")[0].proto.spec  # the cold run
    set_form(at, FAST)  # a new execution is shown once started, whatever was picked
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["pipe_exec"] not in (first.job_id, second.job_id)
    wait_for(settings, at.session_state["pipe_exec"])


def test_bad_parameters_show_a_message_and_start_nothing(page):
    at, settings = page
    at.number_input(key="pipe_form_TrainSize").set_value(0.9)
    at.button[0].click().run()
    assert not at.exception
    assert "must sum to 1" in at.error[0].value
    assert list_executions(settings) == []


def test_the_deployment_pipeline_reports_a_missing_approval(page):
    at, settings = page
    at.button(key="pipe_deploy").click().run()
    assert not at.exception
    deploy_job = at.session_state["pipe_deploy_exec"]
    ex = wait_for(settings, deploy_job)
    assert ex.status == "Failed" and "no Approved model version" in ex.failure
    at.run()
    assert any("no Approved model version" in e.value for e in at.error)
    assert describe_execution(Settings(workspace=settings.workspace), ex.id).steps


def test_a_false_condition_is_shown_in_words_and_colour_with_the_else_branch(tmp_path,
                                                                              monkeypatch):
    """The workshop's forest fails the gate: CheckMSE must not look like a plain success."""
    settings = small_settings(tmp_path)
    ex = run_pipeline(settings, {**FAST, "MseThreshold": 1.0})  # no model is that good
    assert ex.status == "Succeeded" and "RegisterModel" not in ex.steps
    mse = ex.steps["CheckMSE"].outputs["left"]
    at = open_pipelines(settings, monkeypatch)
    dot = at.get("graphviz_chart")[0].proto.spec
    check = next(line for line in dot.splitlines() if line.strip().startswith('"CheckMSE" ['))
    assert "FALSE" in check and "#fdba74" in check  # in words and in orange
    register = next(line for line in dot.splitlines()
                    if line.strip().startswith('"RegisterModel" ['))
    assert "not executed (condition false)" in register and "dashed" in register
    taken = next(line for line in dot.splitlines() if '"CheckMSE" -> "CheckMSE__else"' in line)
    assert f"{mse:,.0f} > 1" in taken and "penwidth" in taken  # the else branch, drawn, taken
    skipped = next(line for line in dot.splitlines() if '"CheckMSE" -> "RegisterModel"' in line)
    assert "dashed" in skipped
    warning = " ".join(w.value for w in at.warning)
    assert "CheckMSE was false" in warning and "no model was registered" in warning
    assert f"{mse:,.0f}" in warning


def test_the_form_shows_the_parameters_of_the_execution_beside_it_after_a_reload(ran, tmp_path,
                                                                                monkeypatch):
    at = open_pipelines(copied(ran, tmp_path), monkeypatch)  # a new session: a reload
    assert at.number_input(key="pipe_form_NEstimators").value == FAST["NEstimators"]
    assert at.number_input(key="pipe_form_MaxDepth").value == FAST["MaxDepth"]
    assert at.selectbox(key="pipe_form_Algorithm").options == ["xgboost", "random_forest"]
    assert any("MaxDepth = 3" in c.value for c in at.caption)
