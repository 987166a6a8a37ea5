import json

import streamlit as st

from lab import jobs
from lab.dataset import list_datasets
from lab.errors import LabError
from lab.formats import number, seconds
from lab.pipelines import (
    DEPLOY_PIPELINE,
    TRAINING_PIPELINE,
    ConditionStep,
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
from lab.pipelines.charts import condition_outcome
from lab.registry import APPROVED, PENDING, REJECTED
from lab.training import ALGORITHMS
from pages._ui import (
    chart,
    concept,
    hide_paths,
    job_panel,
    open_page,
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
concept("Where the order of the steps comes from", """
Nobody writes "run A, then B". Each step's inputs **refer to another step's outputs**
(`step_train.properties.ModelArtifacts.S3ModelArtifacts`), and SageMaker draws an edge
for every such reference: the graph below labels each edge with what flows along it.
The condition reads a value *inside a file* that the evaluation wrote: the evaluation step
declares that file as a **PropertyFile** (`EvaluationReport`, `evaluation.json`), and the
condition reads `regression_metrics.mse.value` from it with **JsonGet**, which also makes
CheckMSE wait for EvaluateModel. Steps with no path between them run in parallel.
""")

# Parameters with a fixed set of values get a list to pick from, not a text box.
CHOICES = {"Algorithm": list(ALGORITHMS),
           "ModelApprovalStatus": [PENDING, APPROVED, REJECTED],
           "InputData": ["", *[d.name for d in list_datasets(ws)]]}
LABELS = {"": "(the active dataset)"}


def parameter_form(defn, key: str, shown=None):
    """The pipeline's parameters; after a reload, those of the execution shown below, so
    the form never sits beside another execution's results with other values."""
    if shown is not None and not st.session_state.get(f"{key}_filled"):
        for p in defn.parameters:
            value = shown.parameters.get(p.name, p.default)
            if p.name in CHOICES and value not in CHOICES[p.name]:
                continue
            st.session_state[f"{key}_{p.name}"] = value
        st.session_state[f"{key}_filled"] = True
    with st.form(key):
        values = {}
        cols = st.columns(3)
        for i, p in enumerate(defn.parameters):
            col, widget = cols[i % 3], f"{key}_{p.name}"
            # a value already in the session (typed, or the shown execution's) wins
            given = widget in st.session_state
            if p.name in CHOICES:
                options = CHOICES[p.name]
                index = 0 if given or p.default not in options else options.index(p.default)
                values[p.name] = col.selectbox(p.name, options, index=index, help=p.help,
                                               key=widget,
                                               format_func=lambda v: LABELS.get(v, v))
            elif p.type == "Integer":
                values[p.name] = col.number_input(
                    p.name, step=1, help=p.help, key=widget,
                    **({} if given else {"value": int(p.default)}))
            elif p.type == "Float":
                big = abs(float(p.default)) >= 1000
                values[p.name] = col.number_input(
                    p.name, help=p.help, key=widget, step=10_000_000.0 if big else 0.05,
                    format="%.0f" if big else "%.2f",
                    **({} if given else {"value": float(p.default)}))
            else:
                values[p.name] = col.text_input(p.name, help=p.help, key=widget,
                                                **({} if given else {"value": str(p.default)}))
        submitted = st.form_submit_button(f"Start {defn.name}", type="primary",
                                          icon=":material/play_arrow:")
    return values if submitted else None


def _width(defn) -> str:
    """Stretch the training DAG; a two-step graph stretched would be drawn huge."""
    return "stretch" if len(defn.steps) > 3 else "content"


def explain(defn, ex) -> None:
    """What this execution's outcome means, in words, beside the DAG."""
    for step in defn.steps:
        if not isinstance(step, ConditionStep):
            continue
        outcome = condition_outcome(ex, step)
        if outcome is None:
            continue
        if outcome["holds"]:
            st.success(f"**{step.name} was true** ({outcome['text']}): the model is good "
                       f"enough, so {', '.join(step.if_steps)} ran.",
                       icon=":material/check_circle:")
        else:
            st.warning(f"**{step.name} was false** ({outcome['text']}): the test MSE is above "
                       f"the threshold, so {', '.join(step.if_steps)} did not run and **no "
                       "model was registered**. The execution still Succeeded: a false "
                       "condition is the gate doing its job, not a failure.",
                       icon=":material/block:")
    register = ex.steps.get("RegisterModel")
    train = ex.steps.get("TrainModel")
    if register and register.status == "Succeeded" and train and train.cache_hit:
        st.info(f"TrainModel was a cache hit, yet **RegisterModel ran again** and registered "
                f"version {register.outputs.get('version')}: SageMaker never caches "
                "RegisterModel, so every execution registers a version, here a duplicate of "
                f"the model of execution {train.cache_source}. Reject or ignore the duplicate "
                "in the registry, or change a parameter to train a new model.",
                icon=":material/content_copy:")


def show_execution(defn, session_key: str, empty_text: str) -> None:
    """The latest execution of `defn` (or the one picked below): its job's panel, with the
    DAG coloured live, the chosen step's details and the timeline."""

    def live(job) -> None:
        ex = execution_of(s, job)
        if ex is None:
            st.graphviz_chart(dag_dot(defn), width=_width(defn))
            return
        facts = summary(ex)
        st.markdown(f"Execution **{ex.id}**: {ex.status} in {seconds(ex.duration_s)}, "
                    f"{facts['cache_hits']} cache hit(s)")
        changed = changed_parameters(ex)
        st.caption("Parameters of this execution: " + (", ".join(
            f"{k} = {number(v) if isinstance(v, (int, float)) else v}"
            for k, v in changed.items()) + " (the others: defaults)" if changed
            else "the defaults"))
        if ex.failure:
            st.error(ex.failure, icon=":material/error:")
        selected = st.session_state.get(f"{session_key}_step") or next(iter(ex.steps), None)
        graph_col, details = st.columns([1, 1], gap="large")
        with graph_col:
            st.graphviz_chart(dag_dot(defn, ex, selected), width=_width(defn))
            st.caption("Grey: not started · blue: executing · green: succeeded (a condition: "
                       "true) · orange: a condition that was false · red: failed · double "
                       "border and *cached*: a cache hit · dashed: not executed · thick "
                       "purple border: the step shown on the right")
        with details:
            explain(defn, ex)
            if not ex.steps:
                return
            name = st.selectbox("Step details", list(ex.steps), key=f"{session_key}_step")
            rec = ex.steps[name]
            st.markdown(f"**{rec.status}** in {seconds(rec.duration_s)}")
            if rec.cache_hit:
                st.success(f"Cache hit: outputs of execution {rec.cache_source}",
                           icon=":material/cached:")
            if rec.cache_key and not presenter():
                st.caption(f"Cache key: `{rec.cache_key[:16]}…`")
            if rec.metrics:
                table([{"metric": k, "value": v} for k, v in rec.metrics.items()])
            if not presenter():
                st.json(hide_paths({"inputs": rec.inputs, "outputs": rec.outputs}),
                        expanded=False)
            if rec.failure:
                st.error(rec.failure)
        if not presenter():
            with st.expander(f"Log of {name}"):
                st.code(step_log(rec)[-4000:] or "(no log)", language="log", height=300)
        chart(gantt(ex), width="stretch", key=f"{session_key}_gantt")

    kind = job_kind(defn.name)
    if jobs.latest(ws, kind) is None and session_key not in st.session_state:
        st.graphviz_chart(dag_dot(defn), width=_width(defn))
    job_panel(kind, session_key, empty_text, render_live=live,
              log_title="Pipeline job log", stop_key=f"{session_key}_stop")


def shown_execution(session_key: str, defn):
    """The execution the panel will show: the session's job, else the latest of its kind."""
    job_id = st.session_state.get(session_key)
    latest = jobs.latest(ws, job_kind(defn.name))
    job = job_id or (latest.job_id if latest else None)
    return execution_of(s, job) if job else None


st.header("1. Run the training pipeline")
values = parameter_form(TRAINING_PIPELINE, "pipe_form", shown_execution("pipe_exec",
                                                                        TRAINING_PIPELINE))
if values is not None:
    try:
        st.session_state["pipe_exec"] = jobs.start(s, pipeline_job(s, values))
        st.session_state.pop("pipe_exec_step", None)
    except LabError as exc:
        show_error(exc)
show_execution(TRAINING_PIPELINE, "pipe_exec",
               "No execution yet: press **Start** to run the pipeline.")
what_to_notice(
    "Start it again without changing anything: every step but RegisterModel is a cache hit "
    "(double border), and the execution takes a fraction of the time.",
    "Set Algorithm to random_forest: the workshop's forest scores a test MSE above "
    "320,000,000, CheckMSE comes out false (orange) and nothing is registered.")
concept("Why RegisterModel runs again when everything before it is cached", """
Caching reuses a step's *outputs*; it cannot reuse a *side effect*. Registering a model
creates a new version in the registry, and SageMaker does not offer caching for
RegisterModel (nor for the condition). So an execution whose training was a cache hit
still registers a version: the same model artifact as before, under a new version number.
That is faithful to SageMaker, and it is why the registry's approval step matters: a person
decides which of the versions goes anywhere.
""")

st.header("2. Executions")
executions = list_executions(s, TRAINING_PIPELINE.name)
if executions:
    rows = [{"execution": e.id, "status": e.status, "seconds": round(e.duration_s, 2),
             "cache hits": e.cache_hits,
             "registered version": summary(e)["registered_version"],
             "parameters": json.dumps(changed_parameters(e))}
            for e in executions]
    table(rows, width="stretch")
    jobs_of = {e.id: e.job_id for e in executions}

    def show_picked() -> None:
        """Picking an execution shows its job above (only when the pick changes, so a
        pipeline started afterwards is shown in its place), with its parameters."""
        job_id = jobs_of.get(st.session_state.get("pipe_pick"))
        if job_id:
            st.session_state["pipe_exec"] = job_id
            st.session_state.pop("pipe_exec_step", None)
            st.session_state["pipe_form_filled"] = False

    st.selectbox("Show an execution", list(jobs_of), index=None, key="pipe_pick",
                 placeholder="Pick one to show it above", on_change=show_picked)
else:
    st.caption("No execution yet.")

st.header("3. The pipeline definition")
if presenter():
    st.caption("Presenter mode leaves the JSON definitions out.")
else:
    local, sagemaker_tab = st.tabs(["The lab's definition", "SageMaker definition (SDK v2)"])
    with local:
        st.json(TRAINING_PIPELINE.to_json(), expanded=False)
    with sagemaker_tab:
        st.write("Generated offline from the same declaration with the SageMaker Python SDK: "
                 "no AWS account or network is used.")
        if st.button("Generate the SageMaker definition", icon=":material/code:",
                     key="pipe_sm"):
            try:
                st.session_state["pipe_sm_json"] = json.dumps(sagemaker_definition(s),
                                                              indent=2)
            except LabError as exc:
                show_error(exc)
        if "pipe_sm_json" in st.session_state:
            st.download_button("Download pipeline.json", st.session_state["pipe_sm_json"],
                               file_name="pipeline.json", mime="application/json",
                               icon=":material/download:")
            st.code(st.session_state["pipe_sm_json"], language="json", height=420)

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
step_footer("pipelines.py")
