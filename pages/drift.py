import json
import time

import streamlit as st

from lab.errors import LabError
from lab.monitoring import (
    Changes,
    drift_report,
    drifted_dataset,
    find_baseline,
    make_baseline,
    open_monitoring,
)
from lab.monitoring.charts import distributions, psi_bars
from lab.monitoring.drift import KS_THRESHOLD, PSI_THRESHOLD
from pages._ui import (
    chart,
    concept,
    end_page,
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
st.title("Baseline & drift")
st.caption("Reliable stage")
st.write(
    "A model learns the world as its training data showed it. When the data it receives "
    "later looks different (houses got bigger, a sensor changed its unit, a field stopped "
    "being filled), its answers quietly get worse. The first automated check of the "
    "Reliable stage is therefore on the **data**: describe the training data once, as a "
    "**baseline**, and compare every new batch with it, feature by feature.")
if not prerequisites("drift"):
    end_page("drift.py")
concept("Baseline, PSI and KS", f"""
The **baseline** is SageMaker Model Monitor's pair of files: `statistics.json` (per
feature: count, missing values, mean, standard deviation, min, max, a 10-bucket histogram
and a quantile sketch) and `constraints.json` (what a batch must respect: the type, the
share of values present, and the thresholds of the drift check). The lab computes them
from the training split, in the data's own units (years, square feet).

Two numbers compare a batch with it, per feature:
- **PSI** (population stability index): the baseline's histogram buckets (plus one for
  missing values) filled by the batch, compared with the baseline's shares. Under 0.1 is
  stable; above **{PSI_THRESHOLD:g}** is a real shift.
- **KS** (two-sample Kolmogorov-Smirnov): the largest gap between the two cumulative
  distributions, from 0 to 1; above **{KS_THRESHOLD:g}** (Model Monitor's default
  `comparison_threshold`), with a p-value under 0.01, the feature has moved.

A feature **drifts** when either says so. With fewer than 200 rows both are too noisy to
judge: a drift report says so instead of guessing.
""")

st.header("1. The baseline of the training data")
with st.form("baseline_form"):
    c1, c2 = st.columns(2)
    psi_t = c1.number_input("PSI threshold", value=PSI_THRESHOLD, min_value=0.01, step=0.05)
    ks_t = c2.number_input("KS threshold", value=KS_THRESHOLD, min_value=0.01, max_value=1.0,
                           step=0.05)
    if st.form_submit_button("Make the baseline", type="primary", icon=":material/straighten:"):
        try:
            made = make_baseline(s, psi_t, ks_t)
            st.session_state["drift_published"] = open_monitoring(s).publish_baseline(made)
            st.session_state.pop("drift_report", None)
        except LabError as exc:
            show_error(exc)
baseline = find_baseline(s)
if baseline is None:
    st.info("No baseline yet: press **Make the baseline**.", icon=":material/info:")
    show_step_code("drift")
    end_page("drift.py")
info = baseline.info
st.success(f"Baseline of {info.get('rows', 0):,} training rows"
           + (f" of {info['dataset']}" if info.get("dataset") else "")
           + f", made {time.strftime('%Y-%m-%d %H:%M', time.localtime(info.get('made', 0)))}."
           f" Thresholds: PSI {baseline.thresholds['psi']:g}, KS {baseline.thresholds['ks']:g}.",
           icon=":material/check_circle:")
table(baseline.table(), width="stretch")
if "drift_published" in st.session_state:
    st.caption(f"Published where the gated pipeline reads it: "
               f"`{st.session_state['drift_published']}`")
if not presenter():
    with st.expander("statistics.json and constraints.json (Model Monitor's formats)"):
        left, right = st.tabs(["constraints.json", "statistics.json (first feature)"])
        left.json(baseline.constraints, expanded=False)
        first = {**baseline.statistics, "features": baseline.statistics["features"][:1]}
        right.code(json.dumps(first, indent=1)[:6000], language="json")

st.header("2. A batch to compare")
features = baseline.features
source = st.radio("Batch", ["The test split", "A CSV I upload"], horizontal=True,
                  key="drift_source")
upload = None
if source == "A CSV I upload":
    found = st.file_uploader("A batch with a header row, in the data's units", type=["csv"],
                             key="drift_upload")
    if found is not None:
        upload = (found.getvalue(), found.name)
st.write("Make it drift (or leave every change at *none*):")
c1, c2, c3 = st.columns(3)
NONE = "(none)"
shift_f = c1.selectbox("Shift a feature", [NONE, *features], key="drift_shift_f")
shift_v = c1.slider("by standard deviations", -5.0, 5.0, 1.0, 0.25, key="drift_shift_v")
scale_f = c2.selectbox("Scale a feature", [NONE, *features], key="drift_scale_f")
scale_v = c2.number_input("by a factor", value=1.5, min_value=0.01, max_value=1000.0,
                          key="drift_scale_v")
miss_f = c3.selectbox("Remove values of", [NONE, *features], key="drift_miss_f")
miss_v = c3.slider("share removed", 0.0, 1.0, 0.2, 0.05, key="drift_miss_v")
changes = Changes(shift={shift_f: shift_v} if shift_f != NONE else {},
                  scale={scale_f: scale_v} if scale_f != NONE else {},
                  missing={miss_f: miss_v} if miss_f != NONE else {})
if st.button("Compare with the baseline", type="primary", icon=":material/compare_arrows:",
             key="drift_compare"):
    if source == "A CSV I upload" and upload is None:
        st.warning("Upload a CSV first, or pick the test split.", icon=":material/upload:")
    else:
        try:
            st.session_state["drift_report"] = drift_report(s, changes, upload=upload)
        except LabError as exc:
            show_error(exc)

report = st.session_state.get("drift_report")
st.header("3. The drift report")
if report is None:
    st.info("Press **Compare with the baseline**: the test split, unchanged, shows no drift; "
            "shift one feature by one standard deviation and only that one drifts.",
            icon=":material/info:")
else:
    if not report.judged:
        st.warning(f"{report.rows} rows: drift is judged from {report.thresholds['min_rows']} "
                   "rows on (fewer are too noisy); the numbers are shown, not judged.",
                   icon=":material/warning:")
    elif report.drifted:
        st.warning(f"**{len(report.drifted)} of {len(report.features)} features drifted**: "
                   f"{', '.join(report.drifted)} ({report.source}, {report.changes}).",
                   icon=":material/trending_up:")
    else:
        st.success(f"**No drift** in {report.source} ({report.changes}): every feature "
                   "stays within the thresholds.", icon=":material/check_circle:")
    table(report.table(), width="stretch")
    left, right = st.columns(2, gap="large")
    with left:
        chart(psi_bars(report), key="drift_psi", width="stretch")
    with right:
        # keyed by the report: a new report opens on its first drifted feature
        picked = st.selectbox("Distribution of", list(report.features),
                              index=list(report.features).index(report.drifted[0])
                              if report.drifted else 0,
                              key=f"drift_feature_{report.source}_{report.changes}")
        chart(distributions(baseline, report, picked), key="drift_dist", width="stretch")
    if report.violations:
        st.caption("Violations, as Model Monitor's constraint_violations.json names them:")
        table([{"feature": v["feature_name"], "check": v["constraint_check_type"],
                "why": v["description"]} for v in report.violations], width="stretch")
    what_to_notice(
        "A shift of one standard deviation moves a third or more of the rows across bucket "
        "edges: PSI jumps far above 0.2 and KS near 0.4, for that feature only.",
        "Removing values shows in PSI (the missing bucket) and breaks the baseline's "
        "*completeness* constraint, though KS, which reads only the values present, barely "
        "moves.",
        "Values beyond the baseline's range land in its first or last bucket, so PSI cannot "
        "tell how far they went; KS can: scale FRONT_PORCH (0 or 1) by 1.5 and its PSI stays "
        "at 0 while its KS jumps to 0.5. That is why the report reads both.")

st.header("4. A drifted dataset for the pipeline")
st.write("The same changes applied to the **active dataset**, stored as a new dataset (the "
         "active one is not replaced). On **Quality gates & CI/CD**, run the pipeline with it "
         "as *InputData*: its data-quality check finds the drift and fails the execution "
         "before any training.")
if st.button("Store it as a dataset", icon=":material/save:", key="drift_save",
             disabled=changes.empty):
    try:
        saved = drifted_dataset(s, changes)
        st.success(f"Stored as **{saved.name}** ({saved.rows:,} rows, {changes.describe()}).",
                   icon=":material/check_circle:")
    except LabError as exc:
        show_error(exc)
if changes.empty:
    st.caption("Pick a change above first.")

show_step_code("drift")
step_footer("drift.py")
