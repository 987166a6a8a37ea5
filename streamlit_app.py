"""MLOps Lab: the router. Pages grouped by the four stages of MLOps adoption."""

import streamlit as st

from pages._ui import resume_local_endpoints, sidebar

st.set_page_config(page_title="MLOps Lab", page_icon=":material/school:", layout="wide")

pages = {
    "": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
    "Initial": [
        st.Page("pages/stage_initial.py", title="The Initial stage", icon=":material/flag:"),
        st.Page("pages/data.py", title="Explore the data", icon=":material/table_chart:"),
        st.Page("pages/prep.py", title="Prepare the data", icon=":material/tune:"),
        st.Page("pages/feature_store.py", title="Feature Store", icon=":material/database:"),
        st.Page("pages/training.py", title="Training & experiments",
                icon=":material/model_training:"),
        st.Page("pages/registry.py", title="Registry & deployment",
                icon=":material/rocket_launch:"),
    ],
    "Repeatable": [
        st.Page("pages/stage_repeatable.py", title="The Repeatable stage", icon=":material/flag:"),
        st.Page("pages/pipelines.py", title="Pipelines", icon=":material/account_tree:"),
    ],
    "Reliable": [
        st.Page("pages/stage_reliable.py", title="The Reliable stage", icon=":material/flag:"),
    ],
    "Scalable": [
        st.Page("pages/stage_scalable.py", title="The Scalable stage", icon=":material/flag:"),
    ],
}

page = st.navigation(pages)
sidebar()
resume_local_endpoints()
page.run()
