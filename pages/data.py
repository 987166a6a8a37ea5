import streamlit as st

from lab import charts
from lab.dataset import (
    DEFAULT_TARGET,
    active_dataset,
    list_datasets,
    load_dataset,
    read_csv_bytes,
    set_active,
)
from lab.errors import LabError
from lab.formats import number
from lab.notes import negative_targets
from lab.processing import choose_target, use_dataset
from pages._ui import (
    CACHE,
    chart,
    concept,
    fingerprint,
    open_page,
    show_error,
    step_footer,
    table,
    what_to_notice,
)

TABLE_ROWS = 200

ws = open_page()
st.title("Explore the data")
st.write(
    "The workshop predicts house prices from a synthetic housing dataset: eight features "
    "(year built, square feet, bedrooms, ...) and the target **PRICE**. The lab generates "
    "the same kind of data itself (10,000 rows, seeded), or you can bring your own CSV."
)

info = active_dataset(ws)
st.success(f"Active dataset: **{info.name}** ({info.rows:,} rows, {len(info.columns)} columns, "
           f"target **{info.target}**, {info.source})", icon=":material/dataset:")

with st.expander("Use another dataset", icon=":material/upload_file:"):
    known = {d.name: d for d in list_datasets(ws)}
    if len(known) > 1:
        name = st.selectbox("Datasets in this workspace", list(known), index=list(known).index(
            info.name) if info.name in known else 0, key="dataset_pick")
        if name != info.name and st.button("Make it active", key="activate"):
            try:
                set_active(ws, name, known[name].target)
                st.rerun()
            except LabError as exc:
                show_error(exc)
    uploaded = st.file_uploader("Upload a CSV (header row, comma-separated)", type=["csv"],
                                key="upload")
    if uploaded is not None:
        try:
            df_new = read_csv_bytes(uploaded.getvalue(), label=uploaded.name)
        except LabError as exc:
            show_error(exc)
        else:
            st.dataframe(df_new.head(5), hide_index=True)
            columns = list(df_new.columns)
            target = st.selectbox("Target column", columns, key="upload_target",
                                  index=columns.index(DEFAULT_TARGET)
                                  if DEFAULT_TARGET in columns else len(columns) - 1)
            if st.button("Use this dataset", type="primary", key="use_upload"):
                try:
                    use_dataset(ws, df_new, uploaded.name, target, "upload")
                    st.rerun()
                except LabError as exc:
                    show_error(exc)



@st.cache_data(**CACHE)
def dataset_frame(_ws, _info, key: str):
    """The dataset's rows and their summary, read once per content (`key`)."""
    frame = load_dataset(_ws, _info)
    return frame, frame.describe().T.reset_index(names="column")


@st.cache_resource(**CACHE)
def dataset_chart(_df, key: str, kind: str, column: str = "", target: str = ""):
    """One of the page's charts of a dataset, built once per content and columns."""
    if kind == "distribution":
        return charts.distribution(_df, column)
    if kind == "correlation":
        return charts.correlation(_df)
    return charts.target_scatter(_df, column, target)


data_key = fingerprint(info.path(ws))
df, summary = dataset_frame(ws, info, data_key)
target = st.selectbox("Target column of the active dataset", info.columns,
                      index=info.columns.index(info.target), key="active_target")
if target != info.target:
    try:
        choose_target(ws, target)
        st.rerun()
    except LabError as exc:
        show_error(exc)

negative = negative_targets(df, info.target)
notes = [f"The target **{info.target}** ranges from {number(df[info.target].min())} to "
         f"{number(df[info.target].max())}." if info.target in df.select_dtypes("number")
         else f"The target is **{info.target}**."]
if negative:
    notes.append(
        f"**{number(negative['rows'])} row(s) have a negative {info.target}** (lowest "
        f"{number(negative['min'])}). No house sells below zero: the data is synthetic, a "
        "formula plus random noise, and the noise pushes the cheapest houses under zero (the "
        "workshop's own file has one too, at -60,901). The lab keeps them, as the workshop "
        "does; with real data you would look into such rows before training.")
notes.append("SQUARE_FEET and YEAR_BUILT track the price most closely (see the correlation "
             "chart): expect the model to lean on them.")
what_to_notice(*notes)

tab_table, tab_stats, tab_charts = st.tabs(["Table", "Summary statistics", "Charts"])
with tab_table:
    # 200 rows: formatting each cell in the lab's number format is the page's main cost
    table(df.head(TABLE_ROWS))
    st.caption(f"First {min(len(df), TABLE_ROWS):,} of {len(df):,} rows.")
with tab_stats:
    table(summary)
with tab_charts:
    numeric = list(df.select_dtypes("number").columns)
    column = st.selectbox("Column", list(df.columns), index=list(df.columns).index(info.target),
                          key="dist_column")
    chart(dataset_chart(df, data_key, "distribution", column), key="dist_chart")
    if numeric:
        chart(dataset_chart(df, data_key, "correlation"), key="corr_chart")
    features = [c for c in numeric if c != info.target]
    if features and info.target in numeric:
        feature = st.selectbox("Feature against the target", features, key="scatter_feature")
        chart(dataset_chart(df, data_key, "scatter", feature, info.target),
              key="scatter_chart")

concept("Who does what: the roles of an MLOps team", """
- **Data engineer**: brings the raw data in and keeps it flowing: ingestion, cleaning at
  scale, the feature store's inputs.
- **Data scientist**: explores the data (this page), builds and evaluates models, tunes
  them: the Initial stage's notebooks are their home.
- **ML engineer**: makes models run in production, reliably: pipelines, deployment,
  monitoring (the Repeatable and Reliable stages).

In a small team one person wears all three hats; the stages of MLOps adoption are largely
about handing work from one hat to the next without a manual hand-off.
""")
step_footer("data.py")
