import streamlit as st

from lab import jobs
from lab.errors import LabError
from lab.monitoring import (
    TRAFFIC_KIND,
    Changes,
    find_baseline,
    monitoring_view,
    open_monitoring,
    traffic_job,
)
from lab.monitoring.charts import distributions, psi_bars, traffic
from lab.serving import CaptureConfig, EndpointNotFoundError, default_endpoint, open_endpoints
from pages._ui import (
    chart,
    concept,
    end_page,
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
st.title("Endpoint monitoring")
st.caption("Reliable stage")
st.write(
    "Once a model serves, nobody looks at its requests one by one. **Monitoring** does: the "
    "endpoint keeps a sample of what it receives and answers (**data capture**), its "
    "request rate, errors and latency are counted over time, and the captured inputs are "
    "compared with the training baseline, so that drift in production is seen before the "
    "complaints arrive.")
if not prerequisites("monitoring"):
    end_page("monitoring.py")
monitor = open_monitoring(s)
if monitor.note:
    st.info(monitor.note, icon=":material/cloud:")
concept("Data capture and the metrics", """
**Data capture** is part of an endpoint's configuration (SageMaker's `DataCaptureConfig`):
a sampling percentage, the destination, and the content types. Each captured request is
one JSON line holding the request's CSV rows and the endpoint's answer, with an event id
and the inference time (Model Monitor's capture format), in files laid out by endpoint,
variant and hour. The lab's local endpoint writes the same lines into the workspace, and
bounds them: a file closes at its size limit, and past the total limit the oldest go.

The **metrics** are what CloudWatch keeps for a SageMaker endpoint, per variant:
invocations, 4XX and 5XX errors, and model latency (here per second, on SageMaker per
minute). Percentiles matter more than averages: the p99 latency is what the slowest one
request in a hundred waits.
""")
name = default_endpoint(s)
try:
    capture = open_endpoints(s).capture(name)
except EndpointNotFoundError:
    st.info(f"There is no endpoint {name} yet: deploy an approved version on the Registry & "
            "deployment page first.", icon=":material/info:")
    end_page("monitoring.py")
if find_baseline(s) is None:
    st.info("There is no baseline yet: make one on **Baseline & drift** to see the drift of "
            "the captured inputs.", icon=":material/info:")

st.header("1. Data capture")
with st.form("capture_form"):
    c1, c2, c3 = st.columns(3)
    enabled = c1.toggle("Capture requests and answers", value=True, key="mon_capture_on",
                        help="on by default here: Apply turns it on (or off, unticked)")
    sampling = c2.slider("Share of requests captured (%)", 1, 100,
                         int(capture.sampling_percentage), key="mon_sampling")
    total_mb = c3.number_input("Keep at most (MB)", min_value=1, max_value=1024,
                               value=max(1, capture.max_total_bytes // (1024 * 1024)),
                               key="mon_total")
    if st.form_submit_button("Apply", type="primary", icon=":material/save:"):
        try:
            with st.spinner("Updating the endpoint's data capture..."):
                capture = open_endpoints(s).set_capture(name, CaptureConfig(
                    enabled=enabled, sampling_percentage=float(sampling),
                    max_total_bytes=int(total_mb) * 1024 * 1024))
        except LabError as exc:
            show_error(exc)
st.caption(f"Data capture is **{'on' if capture.enabled else 'off'}** for {name}"
           + (f", {capture.sampling_percentage:g}% of requests, into `{capture.destination}`"
              if capture.enabled else "") + ".")

st.header("2. Send traffic")
st.write("Replay rows of the test split to the endpoint, one per request, at a steady rate; "
         "optionally drifted, to see the drift appear in what the endpoint captured.")
baseline = find_baseline(s)
features = baseline.features if baseline else []
c1, c2, c3, c4 = st.columns(4)
rows = c1.number_input("Requests", min_value=1, max_value=5000, value=300, key="mon_rows")
rate = c2.number_input("Per second", min_value=1, max_value=500, value=100, key="mon_rate")
NONE = "(none)"
shift_f = c3.selectbox("Shift a feature", [NONE, *features], key="mon_shift_f")
shift_v = c4.slider("by standard deviations", -5.0, 5.0, 1.0, 0.25, key="mon_shift_v")
if st.button("Send traffic", type="primary", icon=":material/send:", key="mon_send"):
    changes = Changes(shift={shift_f: shift_v} if shift_f != NONE else {})
    try:
        st.session_state["mon_traffic"] = jobs.start(
            s, traffic_job(s, int(rows), float(rate), changes, name))
    except LabError as exc:
        show_error(exc)


def traffic_result(job) -> None:
    r = job.result or {}
    st.caption(f"{r.get('sent', 0)} sent ({r.get('changes')}): {r.get('answered', 0)} "
               f"answered, {r.get('refused', 0)} refused, {r.get('lost', 0)} lost, in "
               f"{r.get('seconds', 0):g} s")


job_panel(TRAFFIC_KIND, "mon_traffic", "No traffic sent yet: press **Send traffic**.",
          render_result=traffic_result, log_title="Traffic log", stop_key="mon_stop")

st.header("3. What the endpoint saw")
st.button("Refresh", icon=":material/refresh:", key="mon_refresh")
try:
    view = monitoring_view(s, name)
except LabError as exc:
    show_error(exc)
    end_page("monitoring.py")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Requests (15 min)", f"{view.requests:,}")
c2.metric("Errors", f"{view.errors:,}")
c3.metric("Captured requests", f"{len(view.captures):,}")
c4.metric("Captured rows", f"{view.captured_rows:,}")
if view.points:
    chart(traffic(view.points), key="mon_traffic_chart", width="stretch")
else:
    st.info("No request in the last 15 minutes: send traffic.", icon=":material/info:")
if view.captures:
    st.caption("The newest captured requests (Model Monitor's capture records, read back):")
    table(view.sample(), width="stretch")

st.subheader("Drift of the captured inputs")
if view.drift is None or not view.drift.judged:
    st.info(view.note or "Nothing to compare yet.", icon=":material/info:")
if view.drift is not None:
    report = view.drift
    if report.judged:
        if report.drifted:
            st.warning(f"**{len(report.drifted)} feature(s) drifted** in what the endpoint "
                       f"received: {', '.join(report.drifted)}.", icon=":material/trending_up:")
        else:
            st.success("**No drift** in what the endpoint received: its inputs look like the "
                       "training data.", icon=":material/check_circle:")
    table(report.table(), width="stretch")
    left, right = st.columns(2, gap="large")
    with left:
        chart(psi_bars(report), key="mon_psi", width="stretch")
    with right:
        # keyed by the report: a new report opens on its first drifted feature
        picked = st.selectbox("Distribution of", list(report.features),
                              index=list(report.features).index(report.drifted[0])
                              if report.drifted else 0,
                              key=f"mon_feature_{report.source}_{report.changes}")
        chart(distributions(baseline, report, picked), key="mon_dist", width="stretch")
what_to_notice(
    "The captured rows are the model's inputs, scaled as the preparation scales them; the "
    "view scales them back with the baseline's scaler, so they compare in the data's units.",
    "Send 300 rows with a feature shifted by one standard deviation: that feature, and only "
    "it, drifts in the captured inputs (the earlier, unshifted requests are still in the "
    "capture and dilute it: the shift shows less than on Baseline & drift).",
    "Lower the sampling to 10%: the request rate stays, the capture grows ten times slower.")

show_step_code("monitoring")
step_footer("monitoring.py")
