"""Every page through AppTest: it renders with no exception and shows what it should."""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from lab.jobs import JobStore
from lab.steps import HOME, STEPS, pages
from tests.workspaces import REPO, snapshot

APP = str(REPO / "streamlit_app.py")
HOME_TITLE = "MLOps Lab"  # Home is "Home" in the navigation, "MLOps Lab" on the page

# page file -> the title it shows, from the step registry (the router reads it too)
PAGES = {f"pages/{p.file}": HOME_TITLE if p.file == HOME else p.title
         for p in pages(instructor=False)}


@pytest.fixture
def app(ws, monkeypatch):
    monkeypatch.setenv("LAB_WORKSPACE", str(ws.root))
    monkeypatch.delenv("LAB_WORKSHOP", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    return at


def open_page(at, page):
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at):
    return " ".join(e.value for kind in ("markdown", "caption", "info", "success", "warning",
                                         "error") for e in getattr(at, kind))


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders(app, page):
    at = open_page(app, page)
    assert at.title[0].value == PAGES[page]


def test_the_registry_names_every_page_file_once():
    files = [p.file for p in pages()]
    assert len(files) == len(set(files)) and files[0] == HOME
    assert set(files) == {f.name for f in (REPO / "pages").glob("*.py")
                          if not f.name.startswith("_")}


def test_home_explains_the_four_stages_and_maps_the_steps(app):
    body = texts(app)
    for stage in ("Initial", "Repeatable", "Reliable", "Scalable"):
        assert f"**{stage}**" in body
    charts = app.get("graphviz_chart")
    assert len(charts) == 2  # the stage diagram and the map of the lab
    spec = charts[1].proto.spec
    assert "Prepare the data" in spec and "cluster_repeatable" in spec


def test_sidebar_shows_backend_workspace_and_progress(app, ws):
    built = len([s for s in STEPS if s.built])
    assert app.sidebar.radio[0].value == "local"
    assert str(ws.root) in [c.value for c in app.sidebar.code]
    assert f"Progress: 0 of {built} steps" in [c.value for c in app.sidebar.caption]
    from lab.processing import run_prep

    run_prep(ws)  # generates the default dataset, then prepares it: two steps done
    app.run()
    assert f"Progress: 2 of {built} steps" in [c.value for c in app.sidebar.caption]


def test_the_reliable_stage_explains_each_practice_and_leads_to_its_step(app):
    at = open_page(app, "pages/stage_reliable.py")
    body = texts(at)
    for practice in ("Baseline and drift", "Quality gates and CI/CD", "Endpoint monitoring",
                     "Safe rollouts"):
        assert f"#### {practice}" in body
    assert len(at.get("graphviz_chart")) == 5  # the stage's diagram and one per practice
    links = [link.proto.page for link in at.get("page_link")]
    for page in ("drift", "gates", "monitoring", "rollouts"):
        assert links.count(page) >= 2, page  # in the steps list and under its practice


def test_data_page_shows_table_statistics_and_charts(app):
    at = open_page(app, "pages/data.py")
    assert "generated_housing" in at.success[0].value and "10,000 rows" in at.success[0].value
    assert len(at.dataframe) >= 2
    charts = at.get("plotly_chart")
    assert len(charts) == 3
    assert "Distribution of PRICE" in charts[0].proto.spec


def test_upload_own_csv_and_pick_target(app, ws):
    at = open_page(app, "pages/data.py")
    csv = "size,rooms,city,cost\n" + "".join(
        f"{50 + i},{1 + i % 4},{'ab'[i % 2]},{1000 + 7 * i}\n" for i in range(40))
    at.file_uploader[0].upload("homes.csv", csv.encode(), "text/csv").run()
    assert not at.exception
    at.selectbox(key="upload_target").select("cost").run()
    at.button(key="use_upload").click().run()
    assert not at.exception
    assert "homes" in at.success[0].value and "target **cost**" in at.success[0].value


@pytest.mark.parametrize("content, message", [
    (b"a,b\n1,2\n3,4,5,6\n", "not a well-formed CSV"),
    (b"", "is empty"),
])
def test_unreadable_upload_gets_a_message_and_changes_nothing(app, ws, content, message):
    at = open_page(app, "pages/data.py")
    before = snapshot(ws.root)
    at.file_uploader[0].upload("bad.csv", content, "text/csv").run()
    assert not at.exception
    assert message in at.error[0].value
    assert snapshot(ws.root) == before


@pytest.mark.parametrize("csv, target, message", [
    ("name,PRICE\n" + "".join(f"n{i},{i}\n" for i in range(60)), "PRICE", "No usable feature"),
    ("x,label,PRICE\n" + "".join(f"{i},{'ab'[i % 2]},{i}\n" for i in range(20)), "label",
     "must be numeric"),
])
def test_unusable_upload_is_refused_in_the_page(app, ws, csv, target, message):
    at = open_page(app, "pages/data.py")
    before = snapshot(ws.root)
    at.file_uploader[0].upload("bad.csv", csv.encode(), "text/csv").run()
    at.selectbox(key="upload_target").select(target).run()
    at.button(key="use_upload").click().run()
    assert not at.exception
    assert message in at.error[0].value
    assert snapshot(ws.root) == before


def test_prep_in_process_shows_split_sizes_and_scaling_charts(app):
    at = open_page(app, "pages/prep.py")
    assert "Nothing prepared yet" in texts(at)
    at.button[0].click().run()  # Run in-process (a form submit button)
    assert not at.exception
    assert [m.value for m in at.metric] == ["6,000", "2,000", "2,000", "8"]
    specs = [c.proto.spec for c in at.get("plotly_chart")]
    assert '"y":[6000,2000,2000]' in specs[0].replace(" ", "")
    assert "after StandardScaler" in specs[1]


def test_prep_with_sizes_not_summing_to_one_shows_the_error_and_keeps_outputs(app, ws):
    at = open_page(app, "pages/prep.py")
    at.button[0].click().run()
    before = snapshot(ws.processed_dir)
    at.number_input(key="train_size").set_value(0.7)
    at.button[0].click().run()
    assert not at.exception
    assert "must sum to 1" in at.error[0].value
    assert snapshot(ws.processed_dir) == before
    assert [m.value for m in at.metric][:3] == ["6,000", "2,000", "2,000"]


def test_processing_job_runs_in_the_background_and_its_result_shows(app, ws):
    at = open_page(app, "pages/prep.py")
    at.button[1].click().run()  # Run as a processing job: returns at once
    assert not at.exception
    store = JobStore(ws)
    [job] = store.list("processing")
    deadline = time.monotonic() + 90
    while not store.get(job.job_id).finished and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    assert not at.exception
    assert "outputs match the in-process preparation" in at.success[-1].value
    assert "Starting pre-processing" in at.code[-2].value or any(
        "Starting pre-processing" in c.value for c in at.code)
    # a reload (a new session) finds the job again from the workspace
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.run()
    fresh.switch_page("pages/prep.py").run()
    assert any(job.job_id in m.value for m in fresh.markdown)


def test_workshop_mode_gives_each_session_its_own_workspace_kept_in_the_url(ws, monkeypatch):
    monkeypatch.setenv("LAB_WORKSPACE", str(ws.root))
    monkeypatch.setenv("LAB_WORKSHOP", "1")
    first = AppTest.from_file(APP, default_timeout=60)
    first.run()
    assert not first.exception
    sid = first.query_params["ws"][0] if isinstance(first.query_params["ws"], list) \
        else first.query_params["ws"]
    shown = [c.value for c in first.sidebar.code]
    assert shown == [f"workshop session {sid}"]  # the session, never the server's folder
    assert (ws.root / "sessions" / sid).is_dir() or not (ws.root / "sessions").exists()

    again = AppTest.from_file(APP, default_timeout=60)  # a reload keeps the id in the URL
    again.query_params["ws"] = sid
    again.run()
    assert [c.value for c in again.sidebar.code] == shown

    forged = AppTest.from_file(APP, default_timeout=60)
    forged.query_params["ws"] = "../../etc"
    forged.run()
    assert not forged.exception
    [label] = [c.value for c in forged.sidebar.code]
    assert label.startswith("workshop session ") and ".." not in label


def test_a_workshop_server_offers_only_the_backends_it_allows(ws, monkeypatch):
    """An attendee of a shared server cannot switch it to SageMaker (and so use the
    server's AWS credentials) unless its owner allows it."""
    monkeypatch.setenv("LAB_WORKSPACE", str(ws.root))
    monkeypatch.setenv("LAB_WORKSHOP", "1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "canary-server-secret")
    monkeypatch.delenv("LAB_WORKSHOP_BACKENDS", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    assert at.sidebar.radio[0].options == ["Local"]
    assert not at.sidebar.warning  # no SageMaker problem shown: it is simply not offered
    monkeypatch.setenv("LAB_WORKSHOP_BACKENDS", "local,sagemaker")
    allowed = AppTest.from_file(APP, default_timeout=60)
    allowed.run()
    assert len(allowed.sidebar.radio[0].options) == 2


def test_choosing_sagemaker_without_setup_says_what_is_missing(app, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE", "LAB_SAGEMAKER_ROLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    app.sidebar.radio[0].set_value("sagemaker").run()
    assert not app.exception
    warning = app.sidebar.warning[0].value
    assert "SageMaker is not usable here" in warning and "credentials" in warning.lower()


def test_prep_page_shows_the_sagemaker_sdk_code_for_the_chosen_parameters(app):
    at = open_page(app, "pages/prep.py")
    code = " ".join(c.value for c in at.code)
    assert "SKLearnProcessor(" in code and "ShardedByS3Key" in code
    assert '"--train_size", "0.6"' in code or "'--train_size', '0.6'" in code or \
        "--train_size" in code


def wait_for_jobs(ws, kind, timeout=90):
    store = JobStore(ws)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = store.list(kind)
        if jobs and all(j.finished for j in jobs):
            return jobs
        time.sleep(0.1)
    raise AssertionError(f"{kind} jobs did not finish")


def test_feature_store_page_before_any_preparation_offers_to_prepare_in_one_click(app, ws):
    at = open_page(app, "pages/feature_store.py")
    assert "**Prepare the data**" in at.info[0].value
    assert not [b for b in at.button if b.key == "fs_ingest"]
    at.button(key="prereq_run_features").click().run()
    assert not at.exception
    [job] = wait_for_jobs(ws, "lab-run")
    assert job.status == "Completed", job.error
    assert job.result["steps"] == ["prep"]
    at.run()
    assert not at.exception
    assert [b for b in at.button if b.key == "fs_ingest"]  # the page's own step, now


def test_feature_store_ingest_query_lookup_and_distribution(app, ws):
    from lab.processing import run_prep

    run_prep(ws)
    at = open_page(app, "pages/feature_store.py")
    at.button(key="fs_ingest").click().run()
    wait_for_jobs(ws, "feature-ingest")
    at.run()
    assert not at.exception
    assert "Ingested 10,000 rows into 3 feature groups" in at.success[0].value
    groups = at.dataframe[0].value
    assert list(groups["online rows"]) == [6000, 2000, 2000]
    # the distribution check ran on data read back from the offline store
    assert "6,000 values read back; identical" in at.success[-1].value
    spec = at.get("plotly_chart")[0].proto.spec
    assert "read back (offline store)" in spec

    at.button(key="fs_run_query").click().run()
    assert not at.exception
    assert any("6,000 rows in" in c.value for c in at.caption)

    at.number_input(key="fs_record_id").set_value(42)
    at.button(key="fs_get").click().run()
    record = at.dataframe[-1].value
    assert int(record["record_id"].iloc[0]) == 42
    assert at.metric[0].label == "Lookup latency"


@pytest.mark.parametrize("sql, message", [
    ("SELEC oops", "not valid SQL"),
    ('SELECT * FROM "no-such-group"', "no feature group by that name"),
])
def test_feature_store_bad_sql_gets_a_clear_message(app, ws, sql, message):
    from lab.featurestore import ingest_prepared
    from lab.processing import run_prep
    from lab.settings import Settings

    run_prep(ws)
    ingest_prepared(Settings(workspace=ws.root))
    at = open_page(app, "pages/feature_store.py")
    at.text_area(key="fs_sql").set_value(sql)
    at.button(key="fs_run_query").click().run()
    assert not at.exception
    assert message in at.error[0].value


def test_feature_store_unknown_record_is_a_clear_not_found(app, ws):
    from lab.featurestore import ingest_prepared
    from lab.processing import run_prep
    from lab.settings import Settings

    run_prep(ws)
    ingest_prepared(Settings(workspace=ws.root))
    at = open_page(app, "pages/feature_store.py")
    at.number_input(key="fs_record_id").set_value(10**6)
    at.button(key="fs_get").click().run()
    assert not at.exception
    assert "no record with id" in at.error[0].value
