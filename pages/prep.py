import streamlit as st

from lab import charts, jobs, offload
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
    CACHE,
    backend_note,
    chart,
    concept,
    diagram,
    fingerprint,
    job_panel,
    open_page,
    presenter,
    settings,
    show_error,
    show_step_code,
    step_footer,
    what_to_notice,
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
concept("Why the scaler is fit on the train split only (leakage)", """
A `StandardScaler` *learns* two numbers per feature: its mean and its standard deviation.
If it learned them from all 10,000 rows, the validation and test rows would have shaped
the features the model trains on: a little of the answer key would **leak** into
training, and the scores on those splits would look better than the model will do on
houses it has never seen. So the scaler is fit on the train split, then the *same* mean
and standard deviation scale the validation and test splits (and, later, every request the
endpoint receives).
""")

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
    instance_count = b3.number_input("Processing instance count", 1, 10, 1, key="instances",
                                     help="How many machines the processing job runs on. "
                                     "With the input in ShardedByS3Key mode each one gets "
                                     "its own share of the input files (see below).")

params = PrepParams(float(train_size), float(val_size), float(test_size), int(random_state))
if run_local:
    try:  # on a workshop server, in a worker process: the server's other sessions go on
        result = offload.call(run_prep, ws, params)
        st.toast(f"Prepared in {result.seconds:.2f} s")
    except LabError as exc:
        show_error(exc)
if run_job:
    try:
        spec = processing_job(settings(), params, int(instance_count))
        st.session_state["processing_job"] = jobs.start(settings(), spec)
    except LabError as exc:
        show_error(exc)



@st.cache_data(**CACHE)
def prepared_frames(_folder, key: str):
    """The prepared splits, read once per content (`key`)."""
    return load_prepared(_folder)


@st.cache_resource(**CACHE)
def prep_chart(key: str, feature: str | None, _rows=None, _frame=None, _meta=None):
    """A chart of the prepared data (`key`): the split sizes, or one feature's scaling."""
    if feature is None:
        return charts.split_sizes(_rows)
    return charts.scaling_before_after(_frame, _meta, feature)


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
    prep_key = fingerprint(*(ws.processed_dir / f for f in ("meta/prep.json",
                                                             "train/train.csv")))
    with left:
        chart(prep_chart(prep_key, None, _rows=result.rows), key="split_chart")
    frames, meta = prepared_frames(ws.processed_dir, prep_key), read_meta(ws.processed_dir)
    with right:
        feature = st.selectbox("Feature (train split)", result.features, key="scaling_feature")
        chart(prep_chart(prep_key, feature, _frame=frames["train"], _meta=meta),
              key="scaling_chart")
    what_to_notice(
        "The split is by rows: 60/20/20 of the dataset, shuffled with `random_state`, so the "
        "same seed gives the same split every time.",
        "After scaling, each feature is centred on 0 with a spread of 1 on the train split; "
        "its shape (the histogram) is unchanged.",
        f"The target ({meta['target']}) is not scaled: predictions stay in dollars.")
    if not presenter():
        with st.expander("First rows of train.csv (no header in the file)"):
            st.dataframe(frames["train"].head(20), hide_index=True)

st.header("Processing job", anchor="processing-job")
concept("Instance count and ShardedByS3Key", """
A processing job copies its **inputs** from S3 into each instance's
`/opt/ml/processing/input`, runs the script, and uploads `/opt/ml/processing/output` back
to S3. With `instance_count=2` two machines run the same script at once. The input's
**distribution type** decides what each one gets:

- `FullyReplicated` (the default): every instance receives every file;
- `ShardedByS3Key` (the workshop's choice): the S3 objects are split between the
  instances, each processing its own share, which is how one job scales to data that
  outgrows one machine. Sharding is per object: one big CSV goes whole to one instance,
  so large data is written as many files.

With more than one instance the lab writes the dataset as one file per instance and runs
the job in three passes, so that one scaler is fit on the whole train split (the Scalable
stage's *Sharded processing* page shows why, and each instance's share). Locally, worker
processes play the instances; on SageMaker the count is what you pay for, per instance and
second.
""")


def show_processing_result(job) -> None:
    outcome = job.result or {}
    details = "; ".join(f"{k}: {v}" for k, v in outcome.get("comparison", {}).items())
    if outcome.get("match"):
        st.success("The job's outputs match the in-process preparation: "
                   + details.replace(": ", " ") + ".", icon=":material/check_circle:")
        what_to_notice("Same script, same seed, same rows: running the step as a job changes "
                       "where it runs, not what it computes. That is what makes it "
                       "repeatable.")
    else:
        st.error("The job's outputs differ from the in-process preparation: " + details)


backend_note(open_processing(settings()))
job_panel(KIND, "processing_job", "No processing job yet: press **Run as a processing job**.",
          render_result=show_processing_result, log_title="Processing job log")

history = jobs.JobStore(ws).list(KIND)
if len(history) > 1 and not presenter():
    with st.expander(f"Job history ({len(history)})"):
        st.dataframe([{"job": j.job_id, "status": j.status, "seconds": round(j.duration_s, 1),
                       "match": (j.result or {}).get("match")} for j in history],
                     hide_index=True)

show_step_code("processing")
if not presenter():
    with st.expander("The processing job on SageMaker (SDK v2)", icon=":material/cloud:"):
        st.caption("What the SageMaker backend runs for the parameters above.")
        try:
            st.code(sdk_code(build_request(ws, params, int(instance_count))),
                    language="python")
        except LabError as exc:
            show_error(exc)
step_footer("prep.py")
