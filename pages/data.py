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
from lab.processing import choose_target, use_dataset
from pages._ui import open_page, show_error

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

df = load_dataset(ws, info)
target = st.selectbox("Target column of the active dataset", info.columns,
                      index=info.columns.index(info.target), key="active_target")
if target != info.target:
    try:
        choose_target(ws, target)
        st.rerun()
    except LabError as exc:
        show_error(exc)

tab_table, tab_stats, tab_charts = st.tabs(["Table", "Summary statistics", "Charts"])
with tab_table:
    st.dataframe(df.head(1000), hide_index=True)
    st.caption(f"First {min(len(df), 1000):,} of {len(df):,} rows.")
with tab_stats:
    st.dataframe(df.describe().T)
with tab_charts:
    numeric = list(df.select_dtypes("number").columns)
    column = st.selectbox("Column", list(df.columns), index=list(df.columns).index(info.target),
                          key="dist_column")
    st.plotly_chart(charts.distribution(df, column), key="dist_chart")
    if numeric:
        st.plotly_chart(charts.correlation(df), key="corr_chart")
    features = [c for c in numeric if c != info.target]
    if features and info.target in numeric:
        feature = st.selectbox("Feature against the target", features, key="scatter_feature")
        st.plotly_chart(charts.target_scatter(df, feature, info.target), key="scatter_chart")

st.page_link("pages/prep.py", label="Next: prepare the data", icon=":material/arrow_forward:")
