import time

import streamlit as st

from lab import jobs
from lab.errors import LabError
from lab.formats import number
from lab.notes import ranked_runs
from lab.registry import (
    APPROVED,
    PENDING,
    REJECTED,
    ModelGroupNotFoundError,
    best_run,
    candidate_runs,
    compare_versions,
    default_group,
    open_registry,
    register_model,
    set_approval,
)
from lab.serving import (
    DEPLOY_KIND,
    IN_SERVICE,
    MAX_ROWS,
    boto3_code,
    default_endpoint,
    delete_endpoint,
    deploy_job,
    open_endpoints,
    predict_offline,
    predict_online,
    rows_of_payload,
    sdk_code,
)
from pages._ui import (
    backend_note,
    concept,
    diagram,
    end_page,
    job_panel,
    open_page,
    prerequisites,
    presenter,
    settings,
    show_error,
    show_step_code,
    step_footer,
    table,
    what_to_notice,
)

ws = open_page()
s = settings()
st.title("Registry & deployment")
st.write(
    "The workshop's last steps of the Initial stage. The best model of the tuning job is "
    "**registered** as a new version of a *model package group*, with its artifact, metrics "
    "and the run it came from, in the status **PendingManualApproval**. Someone reviews it and "
    "**approves** it (or rejects it), with a comment kept in its history: approval is the gate "
    "between experiments and production. Only an approved version is **deployed** to a "
    "real-time endpoint, which then answers CSV rows with predictions."
)
st.write(
    "In production, an application knows a record id, not its features: it reads them from "
    "the **online feature store** in milliseconds and sends them to the endpoint. The last "
    "section does exactly that, and prints the client code to do it yourself."
)
diagram("deploy")

if not prerequisites("registry"):
    end_page("registry.py")
group = default_group(s)
try:
    registry = open_registry(s)
    versions = registry.list_versions(group)
except ModelGroupNotFoundError:
    versions = []
except LabError as exc:
    show_error(exc)
    end_page("registry.py")
runs = ranked_runs(candidate_runs(s))

st.header("1. Register the best model")
if not runs and not versions:
    st.info("There is no trained model yet: train one (or run a tuning job) first, then come "
            "back to register it.", icon=":material/info:")
    st.page_link("pages/training.py", label="Open Training & experiments",
                 icon=":material/arrow_forward:")
    end_page("registry.py")
if runs:
    lowest, workshop_pick = runs[0], best_run(s)
    labels = {r.run_id: (f"{r.run_id} ({r.algorithm}, validation mse "
                         f"{number(r.validation.get('mse'))}"
                         + (", lowest" if r is lowest else "")
                         + (", best trial of " + r.tuning_job if r.best and r.tuning_job else "")
                         + ")") for r in runs}
    ids = list(labels)
    run_id = st.selectbox("Training run (by validation MSE, lowest first and pre-selected)",
                          ids, index=0, format_func=labels.get, key="reg_run")
    if workshop_pick is not None and workshop_pick.run_id != lowest.run_id:
        st.caption(f"The workshop registers the tuning job's best trial "
                   f"({workshop_pick.run_id}, validation MSE "
                   f"{number(workshop_pick.validation.get('mse'))}); here a run outside the "
                   f"tuning job scores lower ({number(lowest.validation.get('mse'))}), so it "
                   "comes first. Pick either: the registry records which run it came from.")
    if st.button(f"Register in {group}", type="primary", icon=":material/inventory_2:",
                 key="reg_register"):
        try:
            version = register_model(s, run_id=run_id)
            st.toast(f"Registered version {version.version} ({version.status})")
            versions = registry.list_versions(group)
        except LabError as exc:
            show_error(exc)

st.header("2. The model registry")
if not versions:
    st.info(f"Nothing registered in {group} yet: press **Register**.", icon=":material/info:")
    end_page("registry.py")
st.caption(f"Model package group **{group}**: {len(versions)} version(s)")
table([{
    "version": v.version, "status": v.status, "algorithm": v.algorithm,
    **{f"test {k}": m for k, m in v.test_metrics.items()},
    "came from": (v.source.get("tuning_job") or v.source.get("run_id")
                  or v.source.get("pipeline_execution") or v.description or "-"),
    "registered": time.strftime("%Y-%m-%d %H:%M", time.localtime(v.created)),
} for v in versions], key="reg_table")
what_to_notice(
    "A version is immutable (its artifact and metrics never change); only its **status** "
    "does, and every change is kept with who, when and why.",
    "New versions start as PendingManualApproval: nothing reaches an endpoint until a "
    "person approves it below.")

numbers = [v.version for v in versions]
by_number = {v.version: v for v in versions}
with st.form("reg_approval"):
    c1, c2, c3 = st.columns([1, 1, 3])
    chosen = c1.selectbox("Version", numbers, index=len(numbers) - 1, key="reg_version")
    status = c2.radio("Status", [APPROVED, REJECTED, PENDING], key="reg_status")
    comment = c3.text_input("Comment (why; kept in the history)", key="reg_comment")
    if st.form_submit_button("Update the approval status", icon=":material/task_alt:"):
        try:
            set_approval(s, chosen, status, comment)
            st.session_state["reg_done"] = f"Version {chosen} is now {status}."
            st.rerun()  # the table above shows the new status
        except LabError as exc:
            show_error(exc)
if "reg_done" in st.session_state:
    st.success(st.session_state.pop("reg_done"), icon=":material/check_circle:")
shown = by_number[st.session_state.get("reg_version", numbers[-1])]
st.caption(f"History of version {shown.version} (who, when, why)")
st.dataframe([{"when": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(h.at)),
               "status": h.status, "by": h.by, "comment": h.comment}
              for h in shown.history], hide_index=True, key="reg_history")

if len(versions) > 1:
    with st.expander("Compare two versions", icon=":material/compare_arrows:"):
        c1, c2 = st.columns(2)
        a = by_number[c1.selectbox("Version A", numbers, index=len(numbers) - 2, key="reg_a")]
        b = by_number[c2.selectbox("Version B", numbers, index=len(numbers) - 1, key="reg_b")]
        table(compare_versions(a, b), key="reg_compare")

st.header("3. Deploy an approved version")
endpoints = open_endpoints(s)
endpoints.resume()  # local: the app serves its endpoints again after a restart
approved = [v.version for v in versions if v.status == APPROVED]
c1, c2, c3 = st.columns([1, 2, 1])
to_deploy = c1.selectbox("Version", numbers, key="dep_version",
                         index=numbers.index(approved[-1]) if approved else len(numbers) - 1)
name = c2.text_input("Endpoint name", value=default_endpoint(s), key="dep_name")
if c3.button("Deploy", type="primary", icon=":material/rocket_launch:", key="dep_deploy"):
    try:
        st.session_state["deploy_job"] = jobs.start(s, deploy_job(s, to_deploy, name.strip()))
    except LabError as exc:
        show_error(exc)
backend_note(endpoints)


def show_deploy_result(job) -> None:
    result = job.result or {}
    st.success(f"Endpoint **{result.get('name')}** is {result.get('status')}, serving "
               f"version {result.get('version')}.", icon=":material/check_circle:")


job_panel(DEPLOY_KIND, "deploy_job",
          "No deployment yet: pick an approved version and press **Deploy**.",
          render_result=show_deploy_result, log_title="Deployment log")
concept("Deployment options, and how to roll out a new version", """
This lab deploys to a **real-time endpoint**: instances always on, answering each request
in milliseconds. SageMaker offers three other ways to serve the same model package:

| option | fits | you pay for |
|---|---|---|
| **Real-time endpoint** | steady traffic, low latency (this lab) | instances, always |
| **Serverless inference** | sparse, unpredictable traffic; cold starts OK | requests, compute |
| **Asynchronous inference** | large payloads, minutes-long predictions | instances, to zero |
| **Batch transform** | a whole dataset at once (a nightly table) | the job's duration |

Updating an endpoint to a new version is a **rollout**: *all at once* (fast, everyone gets
a bad model together), *canary* (a small share of traffic first, then the rest), *linear*
(traffic moved in steps), each with automatic **rollback** on a CloudWatch alarm
(SageMaker's blue/green deployment guardrails), or *shadow* testing (the new version gets a
copy of the traffic, its answers only recorded). The Reliable stage builds on these.
""")
try:
    deployed = endpoints.list()
except LabError as exc:
    show_error(exc)
    end_page("registry.py")
if not deployed:
    end_page("registry.py")
table([{"endpoint": e.name, "status": e.status, "version": e.version,
        "URL": e.invocation_url or "", "failure": e.failure} for e in deployed],
      key="dep_table")
c1, c2 = st.columns([2, 1])
doomed = c1.selectbox("Endpoint", [e.name for e in deployed], key="dep_delete_name")
if c2.button("Delete the endpoint", icon=":material/delete:", key="dep_delete"):
    try:
        delete_endpoint(s, doomed)
        st.rerun()
    except LabError as exc:
        show_error(exc)

st.header("4. Send it data")
serving = [e for e in deployed if e.status == IN_SERVICE]
if not serving:
    st.info("No endpoint is InService yet.", icon=":material/hourglass_top:")
    end_page("registry.py")
target = st.selectbox("Endpoint", [e.name for e in serving], key="inf_endpoint")
endpoint = next(e for e in serving if e.name == target)
offline_tab, online_tab = st.tabs(["Rows from the offline store", "A record from the online store"])
with offline_tab:
    n = st.number_input("Rows of the test split", 1, MAX_ROWS, 5, key="inf_rows")
    if st.button("Send the rows", icon=":material/send:", key="inf_offline"):
        try:
            st.session_state["inf_result"] = predict_offline(s, int(n), target)
        except LabError as exc:
            st.session_state.pop("inf_result", None)
            show_error(exc)
with online_tab:
    record_id = st.number_input("record_id (test split)", 0, step=1, key="inf_record_id")
    if st.button("Get the record and predict", icon=":material/bolt:", key="inf_online"):
        try:
            st.session_state["inf_result"] = predict_online(s, int(record_id), target)
        except LabError as exc:
            st.session_state.pop("inf_result", None)
            show_error(exc)

result = st.session_state.get("inf_result")
if result is not None and result.endpoint == target:
    cols = st.columns(3)
    cols[0].metric("Request latency", f"{result.latency_s * 1000:.1f} ms")
    if result.lookup_s is not None:
        cols[1].metric("Online store lookup", f"{result.lookup_s * 1000:.2f} ms")
    cols[2].metric("Rows", len(result.predictions))
    if result.record is not None:
        st.caption(f"The record from {result.group} (online store)")
        st.dataframe([result.record], hide_index=True, key="inf_record")
    st.caption(f"The payload: {', '.join(result.features)} (text/csv, no header, no target)")
    st.code(result.payload if len(result.payload) < 5000 else result.payload[:5000] + "\n...",
            language="text", height=160)
    table(result.rows, key="inf_rows_table")
    what_to_notice("The payload holds scaled features, in the training order, with no header "
                   "and no target: exactly what the model was trained on. The predictions "
                   "come back in dollars, beside the actual prices.")

if presenter():
    end_page("registry.py")
st.header("5. The client code")
features = result.features if result is not None else []
if not features:
    from lab.serving import endpoint_model

    try:
        features = endpoint_model(s, target)[1].features
    except LabError:
        features = []
url = endpoints.client_url(endpoint)
sample = int(st.session_state.get("inf_record_id", 0))
if url:
    st.caption(f"Runs as printed against the lab's local runtime at {url} (no AWS account).")
boto3_tab, sdk_tab = st.tabs(["boto3", "SageMaker SDK"])
with boto3_tab:
    st.code(boto3_code(target, result.group if result else "lab-test", sample, features,
                       result.target if result else "PRICE", url), language="python")
with sdk_tab:
    rows = (rows_of_payload(result.payload) if result else []) or [[0.0] * len(features)]
    st.code(sdk_code(target, rows, url), language="python")
show_step_code("registry", title="The code that ran (lab/serving)")
step_footer("registry.py")
