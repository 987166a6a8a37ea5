import time

import streamlit as st

from lab import charts, jobs
from lab.errors import LabError
from lab.featurestore import (
    INGEST_KIND,
    GroupNotFoundError,
    distribution_check,
    group_names,
    ingest_job,
    offline_wait_left,
    open_featurestore,
    workshop_query,
)
from lab.formats import number
from lab.processing import read_meta
from pages._ui import (
    CACHE,
    chart,
    diagram,
    end_page,
    fingerprint,
    job_panel,
    open_page,
    prerequisites,
    settings,
    show_error,
    show_step_code,
    step_footer,
    table,
    what_to_notice,
)

ws = open_page()
s = settings()
st.title("Feature Store")
st.write(
    "Features are computed once and then needed twice: in bulk for **training**, and one "
    "record at a time, within milliseconds, for **real-time inference**. A feature store "
    "keeps both paths fed from the same data, so the model is served exactly the features it "
    "was trained on, and other teams can reuse them instead of recomputing them."
)
st.write(
    "As in the workshop, each prepared split becomes a **feature group** with `record_id` as "
    "record identifier and `event_time` as event time, online store enabled. The **offline "
    "store** keeps every version of every record (queried with SQL, as Athena does); the "
    "**online store** keeps only the newest version of each record, by event time."
)
diagram("feature_store")

if not prerequisites("features"):
    end_page("feature_store.py")
meta = read_meta(ws.processed_dir)

st.header("1. Create the feature groups and ingest")
left, right = st.columns([1, 2])
recreate = right.checkbox("Recreate the groups first (deletes their records; needed after "
                          "preparing another dataset)", key="fs_recreate")
if left.button("Create groups and ingest", type="primary", icon=":material/upload:",
               key="fs_ingest"):
    try:
        st.session_state["fs_job"] = jobs.start(s, ingest_job(s, recreate))
    except LabError as exc:
        show_error(exc)


def show_ingest_result(job) -> None:
    rows = job.result["ingested_rows"]
    st.success(f"Ingested {sum(rows.values()):,} rows into {len(rows)} feature groups in "
               f"{job.result['seconds']:.2f} s.", icon=":material/check_circle:")


job_panel(INGEST_KIND, "fs_job", "Nothing ingested yet: press **Create groups and ingest**.",
          render_result=show_ingest_result, log_title="Ingestion log")

store = open_featurestore(s)
names = group_names(s)
infos = {}
for split, name in names.items():
    try:
        infos[split] = store.describe_group(name)
    except GroupNotFoundError:
        pass
    except LabError as exc:
        show_error(exc)
        end_page("feature_store.py")

st.header("2. The feature groups")
if not infos:
    st.info("No feature group yet.", icon=":material/info:")
    end_page("feature_store.py")
table([{"split": split, "feature group": info.name, "SQL table": info.table_name,
        "record identifier": info.record_identifier, "event time": info.event_time,
        "online rows": info.online_rows, "offline rows (all versions)": info.offline_rows,
        "status": info.status} for split, info in infos.items()])
what_to_notice(
    f"The train group holds {number(meta['rows']['train'])} records, one per row of the train "
    "split: the offline store keeps every version written (ingest again and it grows), the "
    "online store only the newest per record_id.",
    "The values are the **prepared** features, already scaled (a square footage of 0.42 "
    "means 0.42 standard deviations above the train split's mean): the workshop ingests the "
    "processed splits, because the model is trained on scaled features and must be served "
    "the same. An application that reads a record online gets exactly what the endpoint "
    "expects, with no scaling code of its own.")
with st.expander("Feature definitions (inferred from the data, as SageMaker's "
                 "load_feature_definitions does)"):
    first = next(iter(infos.values()))
    st.dataframe([{"feature": k, "type": v} for k, v in first.definitions.items()],
                 hide_index=True)

st.header("3. Query the offline store")
if store.offline_delay_s:
    st.warning(store.note, icon=":material/schedule:")
query_group = names["train"] if "train" in infos else next(iter(infos.values())).name
sql = st.text_area("SQL (the workshop's query is pre-filled)", height=130, key="fs_sql",
                   value=workshop_query(query_group, meta["columns"]))
if st.button("Run query", icon=":material/play_arrow:", key="fs_run_query"):
    try:
        result = store.query(sql)
        st.session_state["fs_query"] = {"frame": result.frame, "seconds": result.seconds,
                                        "at": time.time()}
    except LabError as exc:
        st.session_state.pop("fs_query", None)
        show_error(exc)
answer = st.session_state.get("fs_query")
if answer is not None:
    st.caption(f"{len(answer['frame']):,} rows in {answer['seconds'] * 1000:.0f} ms")
    st.dataframe(answer["frame"].head(1000), hide_index=True)
    ingested_at = first.created
    wait_left = offline_wait_left(ingested_at, store.offline_delay_s)
    if answer["frame"].empty and wait_left:

        @st.fragment(run_every=1.0)
        def countdown() -> None:
            now = time.time()
            due = st.session_state.setdefault("fs_next_check", now + 30)
            if now >= due:
                st.session_state["fs_next_check"] = now + 30
                st.session_state["fs_query"]["frame"] = store.query(sql).frame
                st.rerun()
            st.info(f"No rows yet: the offline store may still be filling. Querying again in "
                    f"{due - now:.0f} s, for at most "
                    f"{offline_wait_left(ingested_at, store.offline_delay_s) / 60:.0f} "
                    "more minutes.", icon=":material/hourglass_top:")

        countdown()

st.header("4. Online lookup by record id")
c1, c2, c3 = st.columns([2, 1, 1])
group = c1.selectbox("Feature group", [i.name for i in infos.values()], key="fs_group")
record_id = c2.number_input("record_id", min_value=0, step=1, key="fs_record_id")
if c3.button("Get record", icon=":material/bolt:", key="fs_get"):
    try:
        st.session_state["fs_record"] = store.get_record(group, int(record_id))
    except LabError as exc:
        st.session_state.pop("fs_record", None)
        show_error(exc)
record = st.session_state.get("fs_record")
if record is not None:
    st.metric("Lookup latency", f"{record.seconds * 1000:.2f} ms")
    st.dataframe([record.values], hide_index=True)
    st.caption("Scaled values, as stored (see above); the target is in dollars.")

st.header("5. Is the distribution intact?")
st.write("The workshop's last check: the data read back from the offline store has the same "
         "distribution as the data that was written.")
column = st.selectbox("Column", meta["columns"], key="fs_compare_column")
# A query that costs nothing runs on every rerun; one that is billed (Athena) on request.


@st.cache_resource(**CACHE)
def compared(_settings, _store, key: str, column: str):
    """The check and its chart, once per ingest and preparation (`key`) and column."""
    check = distribution_check(_settings, column, _store)
    return (charts.distribution_compare(check.written, check.read_back, column), check.same,
            check.message)


if "train" in infos and (store.runs_locally or st.button("Compare", key="fs_compare")):
    try:
        figure, same, message = compared(s, store, f"{ws.root}|{s.backend}|" + fingerprint(
            ws.path("featurestore", "last_ingest.json"), ws.processed_dir / "meta/prep.json"),
            column)
        chart(figure, key="fs_compare_chart")
        (st.success if same else st.warning)(message)
    except LabError as exc:
        show_error(exc)

show_step_code("features", title="The code that ran (lab/featurestore)")
step_footer("feature_store.py")
