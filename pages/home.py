import streamlit as st

from lab import jobs
from lab.checkpoints import scores
from lab.errors import LabError
from lab.flow import LAB_RUN_KIND, reset_workspace, whole_lab_job
from lab.steps import HOME, STAGES, STEPS, checkpoint_file, map_dot, progress, stage_file
from pages._ui import (
    diagram,
    job_panel,
    markdown_asset,
    next_link,
    open_page,
    settings,
    show_error,
    take_it_home,
)

ws = open_page()
st.title("MLOps Lab")
st.subheader("Learn the four stages of MLOps adoption on Amazon SageMaker, hands on")
markdown_asset("home")
diagram("stages")
next_link(HOME, label="Start the lab: the Initial stage")

st.header("Your progress")
done = progress(ws)
marks = scores(ws)
for column, stage in zip(st.columns(4), STAGES):
    steps = [x for x in STEPS if x.stage == stage]
    score = marks[stage]
    with column.container(border=True):
        st.markdown(f"**{stage}**")
        st.write(f"Steps: {sum(done[x.key] for x in steps)} of {len(steps)} done")
        st.write(f"Knowledge checks: {score.correct} of {score.questions} right"
                 + (f" ({score.answered} answered)" if score.answered != score.correct else ""))
        if score.observations:
            seen = (f"{score.observed_ok} of {score.observations} as expected"
                    if score.observed_at else "not opened yet")
            st.write(f"Workspace checks: {seen}")
        if score.complete:
            st.markdown(":green[:material/verified: stage complete]")
        st.page_link(f"pages/{stage_file(stage)}", label=f"The {stage} stage",
                     icon=":material/flag:")
        st.page_link(f"pages/{checkpoint_file(stage)}", label="Its checkpoint",
                     icon=":material/quiz:")

run_col, reset_col = st.columns(2, gap="large")
with run_col.container(border=True):
    st.markdown("**Run the whole lab**")
    st.caption("Every step in order with the lab's defaults, as `python -m lab run-all` does "
               "(about 15 seconds locally). Useful to catch up, or to see every page filled "
               "in before you redo the steps yourself.")
    if st.button("Run the whole lab", icon=":material/play_arrow:", key="home_run_all"):
        try:
            st.session_state["home_lab_run"] = jobs.start(settings(), whole_lab_job(settings()))
        except LabError as exc:
            show_error(exc)
    job_panel(LAB_RUN_KIND, "home_lab_run", "Not run from here yet.", log_title="What ran",
              stop_key="home_run_stop")
with reset_col.container(border=True):
    st.markdown("**Reset the workspace**")
    st.caption("Removes everything this lab wrote in your workspace (data, runs, registry, "
               "endpoints, pipelines, checkpoint answers): a fresh start. Resources in an "
               "AWS account are not deleted.")
    sure = st.checkbox("Yes, remove everything in my workspace", key="home_reset_sure")
    if st.button("Reset the workspace", icon=":material/delete_forever:", disabled=not sure,
                 key="home_reset"):
        try:
            removed = reset_workspace(settings())
            for key in list(st.session_state):
                if key not in ("backend", "presenter"):
                    del st.session_state[key]
            st.session_state["home_reset_done"] = removed
            st.rerun()
        except LabError as exc:
            show_error(exc)
    if "home_reset_done" in st.session_state:
        st.success(f"The workspace is empty again ({st.session_state.pop('home_reset_done')} "
                   "entries removed).", icon=":material/check_circle:")

st.header("The stages of MLOps adoption")
STAGE_SUMMARY = {
    "Initial": ("Experiment and make it reproducible.",
                "Processing jobs, feature store, training jobs with experiment tracking, "
                "tuning, model registry with approval, real-time endpoints.",
                "Hands-on: the workshop's notebooks 1-3."),
    "Repeatable": ("Replace hand-offs with an orchestrated pipeline.",
                   "Pipelines with parameters, conditions and step caching; deployment of the "
                   "latest approved model.", "Hands-on: the workshop's notebook 4."),
    "Reliable": ("Ship models like software, and watch them.",
                 "Drift checks, quality gates, CI/CD, model monitoring, safe rollouts.",
                 "Hands-on: this lab's own steps, beyond the workshop's Lab 1."),
    "Scalable": ("Offer what works as a platform for many teams.",
                 "Work on several instances, project templates, shared registry and "
                 "features, access rules.",
                 "Hands-on: this lab's own steps, beyond the workshop's Lab 1."),
}
for column, stage in zip(st.columns(4), STAGES):
    meaning, practices, coverage = STAGE_SUMMARY[stage]
    with column.container(border=True):
        st.markdown(f"**{stage}**")
        st.write(meaning)
        st.caption(f"Practices: {practices}")
        st.caption(coverage)

st.header("Map of the lab")
graph, steps_col = st.columns([2, 3], gap="large")
graph.graphviz_chart(map_dot(done), width="content")
with steps_col:
    st.caption("Start with **The Initial stage**, then follow each page's *Next* link. "
               "A step whose inputs are missing offers to run the steps before it.")
    for x in STEPS:
        state = "done" if done[x.key] else "to do"
        st.page_link(f"pages/{x.page}", label=f"{x.stage}: {x.title} ({state})", icon=x.icon)
        st.caption(x.summary)

take_it_home()
