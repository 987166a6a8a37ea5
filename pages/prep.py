import streamlit as st

from lab import charts, jobs
from lab.dataset import active_dataset
from lab.errors import LabError
from lab.processing import (
    KIND,
    PrepParams,
    build_request,
    last_result,
    load_prepared,
    open_processing,
    processing_job,
    read_meta,
    run_prep,
    sdk_code,
)
from pages._ui import (
    backend_note,
    diagram,
    job_panel,
    open_page,
    settings,
    show_error,
    show_step_code,
)

ws = open_page()
st.title("Prepare the data")
st.write(
    "As in the workshop: the target moves to the first column (SageMaker's built-in XGBoost "
    "expects it there, and no header), the rows are split **60/20/20** into train, validation "
    "and test with two `train_test_split` calls, and a `StandardScaler` is fit on the train "
    "split only, then applied to all three. The target stays unscaled."
)
st.write(
    "You can run it **in-process** (the notebook way) or as a **processing job**: the same "
    "script run outside this page with SageMaker's input/output folders, which is how it "
    "scales to data that outgrows one machine. Then check that both gave the same result."
)
diagram("processing")

info = active_dataset(ws)
st.caption(f"Dataset: **{info.name}** ({info.rows:,} rows), target **{info.target}**. "
           "Change it on the *Explore the data* page.")

with st.form("params", border=True):
    c1, c2, c3, c4 = st.columns(4)
    train_size = c1.number_input("Train size", 0.05, 0.95, 0.6, 0.05, key="train_size")
    val_size = c2.number_input("Validation size", 0.05, 0.95, 0.2, 0.05, key="val_size")
    test_size = c3.number_input("Test size", 0.05, 0.95, 0.2, 0.05, key="test_size")
    random_state = c4.number_input("random_state", 0, 2**31 - 1, 42, key="random_state")
    b1, b2, b3 = st.columns([1, 1, 2])
    run_local = b1.form_submit_button("Run in-process", type="primary",
                                      icon=":material/play_arrow:")
    run_job = b2.form_submit_button("Run as a processing job", icon=":material/memory:")
    instance_count = b3.number_input("Processing instance count", 1, 10, 1, key="instances")

params = PrepParams(float(train_size), float(val_size), float(test_size), int(random_state))
if run_local:
    try:
        result = run_prep(ws, params)
        st.toast(f"Prepared in {result.seconds:.2f} s")
    except LabError as exc:
        show_error(exc)
if run_job:
    try:
        spec = processing_job(settings(), params, int(instance_count))
        st.session_state["processing_job"] = jobs.start(settings(), spec)
    except LabError as exc:
        show_error(exc)

st.header("In-process result")
result = last_result(ws)
if result is None:
    st.info("Nothing prepared yet: press **Run in-process**.", icon=":material/info:")
else:
    cols = st.columns(4)
    for col, split in zip(cols, ("train", "validation", "test")):
        col.metric(f"{split.capitalize()} rows", f"{result.rows[split]:,}")
    cols[3].metric("Features", len(result.features))
    notes = result.cleaning_notes()
    if notes:
        st.warning("Cleaning of your data: " + "; ".join(notes) + ".", icon=":material/rule:")
    left, right = st.columns([1, 2])
    left.plotly_chart(charts.split_sizes(result.rows), key="split_chart")
    frames, meta = load_prepared(ws.processed_dir), read_meta(ws.processed_dir)
    with right:
        feature = st.selectbox("Feature (train split)", result.features, key="scaling_feature")
        st.plotly_chart(charts.scaling_before_after(frames["train"], meta, feature),
                        key="scaling_chart")
    with st.expander("First rows of train.csv (no header in the file)"):
        st.dataframe(frames["train"].head(20), hide_index=True)

st.header("Processing job")


def show_processing_result(job) -> None:
    outcome = job.result or {}
    details = "; ".join(f"{k}: {v}" for k, v in outcome.get("comparison", {}).items())
    if outcome.get("match"):
        st.success("The job's outputs match the in-process preparation: "
                   + details.replace(": ", " ") + ".", icon=":material/check_circle:")
    else:
        st.error("The job's outputs differ from the in-process preparation: " + details)


backend_note(open_processing(settings()))
job_panel(KIND, "processing_job", "No processing job yet: press **Run as a processing job**.",
          render_result=show_processing_result)

history = jobs.JobStore(ws).list(KIND)
if len(history) > 1:
    with st.expander(f"Job history ({len(history)})"):
        st.dataframe([{"job": j.job_id, "status": j.status, "seconds": round(j.duration_s, 1),
                       "match": (j.result or {}).get("match")} for j in history],
                     hide_index=True)

show_step_code("processing")
with st.expander("The processing job on SageMaker (SDK v2)", icon=":material/cloud:"):
    st.caption("What the SageMaker backend runs for the parameters above.")
    try:
        st.code(sdk_code(build_request(ws, params, int(instance_count))), language="python")
    except LabError as exc:
        show_error(exc)
st.page_link("pages/feature_store.py", label="Next: Feature Store", icon=":material/arrow_forward:")
