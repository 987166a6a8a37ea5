"""MLOps Lab: the router. Pages grouped by the four stages of MLOps adoption.

The pages and their order come from the step registry (`lab.steps`), as the sidebar's
progress and Home's map do.
"""

import streamlit as st

from lab.steps import pages
from pages._ui import resume_endpoints, run_page, sidebar

st.set_page_config(page_title="MLOps Lab", page_icon=":material/school:", layout="wide")

navigation: dict[str, list] = {}
for page in pages():
    navigation.setdefault(page.stage or "", []).append(
        st.Page(f"pages/{page.file}", title=page.title, icon=page.icon,
                default=page.stage is None))

current = st.navigation(navigation)
sidebar()
resume_endpoints()
run_page(current)
