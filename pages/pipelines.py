import json

import streamlit as st

from lab import jobs
from lab.errors import LabError
from lab.pipelines import (
    DEPLOY_PIPELINE,
    TRAINING_PIPELINE,
    changed_parameters,
    dag_dot,
    execution_of,
    gantt,
    job_kind,
    list_executions,
    open_pipelines,
    pipeline_job,
    sagemaker_definition,
    step_log,
    summary,
)
from pages._ui import (
    hide_paths,
    job_panel,
    open_page,
    settings,
    show_error,
    show_step_code,
)

ws = open_page()
s = settings()
st.title("Pipelines")
st.caption("Repeatable stage")
st.write(
    "Until now each step was a hand-off: someone prepares the data, someone else starts the "
    "training, a third person evaluates and registers the model, each waiting for the other "
    "and copying paths by hand. A **pipeline** declares those steps once, with the data "
    "passed between them, the **parameters** a run may change, and a **condition** (register "
    "only if the test MSE is low enough). Anyone can then rerun the whole chain the same way, "
    "and **step caching** skips every step whose code, inputs and parameters have not "
    "changed since a successful run in the last 12 hours (SageMaker's rule)."
)
engine = open_pipelines(s)
if engine.note:
    st.info(engine.note, icon=":material/cloud:")


def parameter_form(defn, key: str):
    with st.form(key):
        values = {}
        cols = st.columns(3)
        for i, p in enumerate(defn.parameters):
            col = cols[i % 3]
            if p.type == "Integer":
                values[p.name] = col.number_input(p.name, value=int(p.default), step=1,
                                                  help=p.help, key=f"{key}_{p.name}")
            elif p.type == "Float":
                values[p.name] = col.number_input(p.name, value=float(p.default), help=p.help,
                                                  format="%g", key=f"{key}_{p.name}")
            else:
                values[p.name] = col.text_input(p.name, value=str(p.default), help=p.help,
                                                key=f"{key}_{p.name}")
        submitted = st.form_submit_button(f"Start {defn.name}", type="primary",
                                          icon=":material/play_arrow:")
    return values if submitted else None


def _width(defn) -> str:
    """Stretch the training DAG; a two-step graph stretched would be drawn huge."""
    return "stretch" if len(defn.steps) > 3 else "content"


def show_execution(defn, session_key: str, empty_text: str) -> None:
    """The latest execution of `defn` (or the one picked below): its job's panel, with the
    DAG coloured live, the chosen step's details and the timeline."""

    def live(job) -> None:
        ex = execution_of(s, job)
        if ex is None:
            st.graphviz_chart(dag_dot(defn), width=_width(defn))
            return
        facts = summary(ex)
        st.markdown(f"Execution **{ex.id}**: {ex.status} in {ex.duration_s:.2f} s, "
                    f"{facts['cache_hits']} cache hit(s)")
        if ex.failure:
            st.error(ex.failure, icon=":material/error:")
        selected = st.session_state.get(f"{session_key}_step")
        st.graphviz_chart(dag_dot(defn, ex, selected), width=_width(defn))
        st.caption("Grey: not started · blue: executing · green: succeeded · red: failed · "
                   "double border and *cached*: a cache hit (outputs of an earlier execution)")
        if not ex.steps:
            return
        name = st.selectbox("Step details", list(ex.steps), key=f"{session_key}_step")
        rec = ex.steps[name]
        left, right = st.columns(2)
        left.markdown(f"**{rec.status}** in {rec.duration_s:.2f} s")
        if rec.cache_hit:
            left.success(f"Cache hit: outputs of execution {rec.cache_source}",
                         icon=":material/cached:")
        if rec.cache_key:
            left.caption(f"Cache key: `{rec.cache_key[:16]}…`")
        left.json(hide_paths({"inputs": rec.inputs, "outputs": rec.outputs}),
                  expanded=False)
        if rec.metrics:
            right.dataframe([{"metric": k, "value": v} for k, v in rec.metrics.items()],
                            hide_index=True)
        if rec.failure:
            right.error(rec.failure)
        st.code(step_log(rec)[-4000:] or "(no log)", language="log")
        st.plotly_chart(gantt(ex), width="stretch", key=f"{session_key}_gantt")

    kind = job_kind(defn.name)
    if jobs.latest(ws, kind) is None and session_key not in st.session_state:
        st.graphviz_chart(dag_dot(defn), width=_width(defn))
    job_panel(kind, session_key, empty_text, render_live=live,
              log_title="Pipeline job log", stop_key=f"{session_key}_stop")


st.header("1. Run the training pipeline")
values = parameter_form(TRAINING_PIPELINE, "pipe_form")
if values is not None:
    try:
        st.session_state["pipe_exec"] = jobs.start(s, pipeline_job(s, values))
        st.session_state.pop("pipe_exec_step", None)
    except LabError as exc:
        show_error(exc)
show_execution(TRAINING_PIPELINE, "pipe_exec",
               "No execution yet: press **Start** to run the pipeline.")

st.header("2. Executions")
executions = list_executions(s, TRAINING_PIPELINE.name)
if executions:
    rows = [{"execution": e.id, "status": e.status, "duration (s)": round(e.duration_s, 2),
             "cache hits": e.cache_hits,
             "registered version": summary(e)["registered_version"],
             "parameters": json.dumps(changed_parameters(e))}
            for e in executions]
    st.dataframe(rows, hide_index=True, width="stretch")
    jobs_of = {e.id: e.job_id for e in executions}

    def show_picked() -> None:
        """Picking an execution shows its job above (only when the pick changes, so a
        pipeline started afterwards is shown in its place)."""
        job_id = jobs_of.get(st.session_state.get("pipe_pick"))
        if job_id:
            st.session_state["pipe_exec"] = job_id
            st.session_state.pop("pipe_exec_step", None)

    st.selectbox("Show an execution", list(jobs_of), index=None, key="pipe_pick",
                 placeholder="Pick one to show it above", on_change=show_picked)
else:
    st.caption("No execution yet.")

st.header("3. The pipeline definition")
local, sagemaker_tab = st.tabs(["The lab's definition", "SageMaker definition (SDK v2)"])
with local:
    st.json(TRAINING_PIPELINE.to_json(), expanded=False)
with sagemaker_tab:
    st.write("Generated offline from the same declaration with the SageMaker Python SDK: "
             "no AWS account or network is used.")
    if st.button("Generate the SageMaker definition", icon=":material/code:", key="pipe_sm"):
        try:
            st.session_state["pipe_sm_json"] = json.dumps(sagemaker_definition(s), indent=2)
        except LabError as exc:
            show_error(exc)
    if "pipe_sm_json" in st.session_state:
        st.download_button("Download pipeline.json", st.session_state["pipe_sm_json"],
                           file_name="pipeline.json", mime="application/json",
                           icon=":material/download:")
        st.code(st.session_state["pipe_sm_json"], language="json")

st.header("4. The deployment pipeline")
st.write("A second pipeline deploys the **latest approved** version of the registry to the "
         "real-time endpoint (on AWS the workshop does this with a Lambda step). Approve a "
         "version on the Registry page first.")
if st.button("Run the deployment pipeline", icon=":material/rocket_launch:", key="pipe_deploy"):
    try:
        st.session_state["pipe_deploy_exec"] = jobs.start(
            s, pipeline_job(s, None, DEPLOY_PIPELINE.name))
    except LabError as exc:
        show_error(exc)
show_execution(DEPLOY_PIPELINE, "pipe_deploy_exec", "The deployment pipeline has not run yet.")

show_step_code("pipelines")
