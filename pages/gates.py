import json

import streamlit as st

from lab import jobs
from lab.dataset import list_datasets
from lab.errors import LabError
from lab.formats import number, seconds
from lab.pipelines import (
    GATED_KIND,
    GATED_PIPELINE,
    approved_mse,
    changed_parameters,
    ci_commit,
    ci_status,
    ci_trigger_job,
    dag_dot,
    execution_of,
    gate_outcomes,
    open_pipelines,
    pipeline_job,
    sagemaker_definition,
    step_log,
)
from lab.training import ALGORITHMS
from pages._ui import (
    concept,
    end_page,
    hide_paths,
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
st.title("Quality gates & CI/CD")
st.caption("Reliable stage")
st.write(
    "In the Repeatable stage the pipeline checked one number (the test MSE against a fixed "
    "threshold). Here it gets the checks a careful data scientist makes by hand, as "
    "**gates** it cannot skip: before training, is the new data like the data the approved "
    "model learned from? After evaluation, is the new model at least as good as the one "
    "approved today? And it starts by itself when something changes, as **CI/CD** does.")
if not prerequisites("gates"):
    end_page("gates.py")
engine = open_pipelines(s)
if engine.note:
    st.info(engine.note, icon=":material/cloud:")
concept("The two gates", """
**CheckDataQuality** runs after PreprocessData, on the new training split: it compares
every feature with the baseline (Baseline & drift) and **fails the execution** on a drift
or a broken constraint, so no model is trained on data unlike the approved model's. On
SageMaker it is a processing step whose script exits with an error: the step fails as a
`QualityCheckStep` fails, and its reason (with the numbers) is the job's *ExitMessage*.

**CheckModelQuality** then sets a ceiling, the approved version's test MSE plus a margin
(5% by default), and the condition **ModelQualityGate** registers the new model only if
its test MSE stays under it. A worse model is **held back**: the execution still
Succeeds (the gate did its job), and the registry gets nothing. With no approved version
yet there is nothing to beat, and the first model passes.

Both gates are steps of the *same* pipeline as before (same name, same steps), so its
cache carries over: after an ungated run, only the gates run.
""")

st.header("1. Run the pipeline with its gates")
datasets = ["", *[d.name for d in list_datasets(ws)]]
with st.form("gates_form"):
    c1, c2, c3 = st.columns(3)
    input_data = c1.selectbox("InputData", datasets, key="gates_input",
                              format_func=lambda v: v or "(the active dataset)",
                              help="a *-drifted* dataset (Baseline & drift, step 4) fails "
                                   "the data-quality check")
    algorithm = c2.selectbox("Algorithm", list(ALGORITHMS), key="gates_algorithm")
    margin = c3.number_input("ModelQualityMargin", value=0.05, min_value=0.0, max_value=10.0,
                             step=0.05, key="gates_margin")
    c4, c5, c6 = st.columns(3)
    depth = c4.number_input("MaxDepth", value=5, min_value=1, max_value=20, key="gates_depth")
    rounds = c5.number_input("NEstimators", value=200, min_value=1, max_value=2000,
                             key="gates_rounds", help="a handful makes a worse model: the "
                             "model-quality gate holds it back")
    current = approved_mse(s)
    c6.metric("Approved version's test MSE", number(current) if current else "none yet")
    started = st.form_submit_button("Start the gated pipeline", type="primary",
                                    icon=":material/play_arrow:")
if started:
    try:
        st.session_state["gates_exec"] = jobs.start(s, pipeline_job(s, {
            "InputData": input_data, "Algorithm": algorithm, "ModelQualityMargin": margin,
            "MaxDepth": int(depth), "NEstimators": int(rounds)}, gated=True))
        st.session_state.pop("gates_exec_step", None)
    except LabError as exc:
        show_error(exc)


def explain_gates(ex) -> None:
    """What the gates said, with their numbers."""
    gates = gate_outcomes(ex)
    data = gates.get("data_quality")
    if data and data["status"] == "Failed":
        st.error(f"**CheckDataQuality failed**: {data['failure']} Nothing was trained or "
                 "registered.", icon=":material/block:")
    elif data and data["status"] == "Succeeded":
        st.success("**CheckDataQuality passed**: the new training data matches the baseline.",
                   icon=":material/check_circle:")
    model = gates.get("model_quality")
    if model is not None:
        text = (f"test MSE {number(model['test_mse'])} against the ceiling "
                f"{number(model['ceiling'])}")
        if model["passed"]:
            st.success(f"**ModelQualityGate passed** ({text}): RegisterModel ran.",
                       icon=":material/check_circle:")
        else:
            st.warning(f"**ModelQualityGate held the model back** ({text}): nothing was "
                       "registered; the execution still Succeeded.", icon=":material/block:")


def live(job) -> None:
    ex = execution_of(s, job)
    if ex is None:
        st.graphviz_chart(dag_dot(GATED_PIPELINE), width="stretch")
        return
    st.markdown(f"Execution **{ex.id}**: {ex.status} in {seconds(ex.duration_s)}, "
                f"{ex.cache_hits} cache hit(s)")
    changed = {k: v for k, v in changed_parameters(ex).items() if k != "InputData" or v}
    st.caption("Parameters: " + (", ".join(
        f"{k} = {number(v) if isinstance(v, (int, float)) else v}"
        for k, v in changed.items()) or "the defaults"))
    selected = st.session_state.get("gates_exec_step") or next(iter(ex.steps), None)
    graph, details = st.columns([1, 1], gap="large")
    with graph:
        st.graphviz_chart(dag_dot(GATED_PIPELINE, ex, selected), width="stretch")
    with details:
        explain_gates(ex)
        if not ex.steps:
            return
        name = st.selectbox("Step details", list(ex.steps), key="gates_exec_step")
        rec = ex.steps[name]
        st.markdown(f"**{rec.status}** in {seconds(rec.duration_s)}"
                    + (f" (cache hit: {rec.cache_source})" if rec.cache_hit else ""))
        if rec.failure:
            st.error(hide_paths(rec.failure))
        if rec.metrics:
            table([{"metric": k, "value": v} for k, v in rec.metrics.items()])
        if not presenter():
            with st.expander(f"Log of {name}"):
                st.code(hide_paths(step_log(rec))[-4000:] or "(no log)", language="log")


if jobs.latest(ws, GATED_KIND) is None and "gates_exec" not in st.session_state:
    st.graphviz_chart(dag_dot(GATED_PIPELINE), width="stretch")
job_panel(GATED_KIND, "gates_exec", "No gated execution yet: press **Start the gated "
          "pipeline**.", render_live=live, log_title="Pipeline job log", stop_key="gates_stop")
what_to_notice(
    "After the Pipelines page's runs, only the gates and RegisterModel run: the other steps "
    "are cache hits of the same pipeline.",
    "InputData = a *-drifted* dataset: CheckDataQuality fails with the drifted feature's PSI "
    "and KS, and TrainModel never starts.",
    "NEstimators = 3 trains a weak model: CheckMSE may pass, but ModelQualityGate compares "
    "it with the approved version and holds it back.")

st.header("2. CI/CD, in small")
st.write(
    "In a team, the pipeline's parameters and its training code live in **source control**. "
    "A push is a *commit*; the repository calls a **webhook**, and the CI service (AWS "
    "CodePipeline, GitHub Actions, the CodeBuild of a SageMaker Project) runs the build: it "
    "upserts the pipeline definition and starts an execution. The gates run; a model that "
    "passes them reaches the registry as *PendingManualApproval*, and a person's approval "
    "starts the deployment (the deployment pipeline). Nobody runs a notebook cell.")
st.write(
    "Here the lab plays the repository: **commit** parameter values below; the training "
    "code is the lab's own `lab/training/entry_point.py` (edit it in your copy of the lab, "
    "and its hash changes). **Run the trigger** does what the webhook does: it compares "
    "what is committed now with the last build, and starts the gated pipeline only if "
    "something changed.")
status = ci_status(s)
c1, c2 = st.columns(2, gap="large")
with c1:
    with st.form("ci_commit"):
        st.markdown("**Commit a change**")
        a, b = st.columns(2)
        ci_depth = a.number_input("MaxDepth", value=int(status.committed.get("MaxDepth", 5)),
                                  min_value=1, max_value=20, key="ci_depth")
        ci_rounds = b.number_input("NEstimators", min_value=1, max_value=2000,
                                   value=int(status.committed.get("NEstimators", 200)),
                                   key="ci_rounds")
        message = st.text_input("Commit message", "Tune the trees", key="ci_message")
        if st.form_submit_button("Commit", icon=":material/commit:"):
            try:
                commit = ci_commit(s, {**status.committed, "MaxDepth": int(ci_depth),
                                       "NEstimators": int(ci_rounds)}, message)
                st.toast(f"Committed {commit['id']}")
                st.rerun()
            except LabError as exc:
                show_error(exc)
with c2:
    st.markdown("**What the trigger sees**")
    table([{"what": "committed parameters", "value": json.dumps(status.committed) or "{}"},
           *[{"what": f"{kind} code", "value": digest}
             for kind, digest in status.code.items()]])
    if status.changed:
        st.info("Changed since the last build: " + "; ".join(status.changes),
                icon=":material/change_circle:")
    else:
        st.success("Nothing changed since the last build.", icon=":material/check_circle:")
    if st.button("Run the trigger (what the webhook does)", icon=":material/webhook:",
                 key="ci_trigger"):
        try:
            st.session_state["gates_exec"] = jobs.start(s, ci_trigger_job(s))
            st.session_state.pop("gates_exec_step", None)
            st.rerun()
        except LabError as exc:
            show_error(exc)
st.caption("The build's execution shows in section 1.")

st.header("3. The gated definition on SageMaker")
if presenter():
    st.caption("Presenter mode leaves the JSON definitions out.")
else:
    st.write("The same declaration compiled with the SageMaker Python SDK, offline: the two "
             "gates are processing steps in the scikit-learn image (CheckDataQuality before "
             "the algorithm's branch, CheckModelQuality in it) and a condition step.")
    if st.button("Generate the gated SageMaker definition", icon=":material/code:",
                 key="gates_sm"):
        try:
            st.session_state["gates_sm_json"] = json.dumps(
                sagemaker_definition(s, gated=True), indent=2)
        except LabError as exc:
            show_error(exc)
    if "gates_sm_json" in st.session_state:
        st.code(st.session_state["gates_sm_json"], language="json", height=420)

show_step_code("gates")
step_footer("gates.py")
