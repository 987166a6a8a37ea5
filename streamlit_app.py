"""MLOps Lab: the router. Pages grouped by the four stages of MLOps adoption.

The pages and their order come from the step registry (`lab.steps`), as the sidebar's
progress and Home's map do. The sidebar's progress is drawn after the page has run, so a
step the page just did shows as done at once (a page that stops early still gets it).
"""

import streamlit as st

from lab.steps import pages
from pages._ui import resume_endpoints, run_page, script_slot, settings, sidebar, sidebar_progress

st.set_page_config(page_title="MLOps Lab", page_icon=":material/school:", layout="wide")

with script_slot():  # a few sessions' scripts at a time: see pages/_ui.py
    navigation: dict[str, list] = {}
    for page in pages(instructor=settings().workshop_mode):
        navigation.setdefault(page.stage or "", []).append(
            st.Page(f"pages/{page.file}", title=page.title, icon=page.icon,
                    default=page.stage is None))

    current = st.navigation(navigation, expanded=True)
    progress_box = sidebar()
    resume_endpoints()
    try:
        run_page(current)
    finally:
        sidebar_progress(progress_box)
