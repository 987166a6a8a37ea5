import streamlit as st

from lab.steps import STAGES, STEPS, map_dot, progress
from pages._ui import diagram, markdown_asset, open_page

ws = open_page()
st.title("MLOps Lab")
st.subheader("Learn the four stages of MLOps adoption on Amazon SageMaker, hands on")
markdown_asset("home")
diagram("stages")

st.header("The stages of MLOps adoption")
STAGE_SUMMARY = {
    "Initial": ("Experiment and make it reproducible.",
                "Processing jobs, feature store, training jobs with experiment tracking, "
                "tuning, model registry with approval, real-time endpoints.",
                "Covered: the workshop's notebooks 1-3."),
    "Repeatable": ("Replace hand-offs with an orchestrated pipeline.",
                   "Pipelines with parameters, conditions and step caching; deployment of the "
                   "latest approved model.", "Covered: the workshop's notebook 4."),
    "Reliable": ("Ship models like software, and watch them.",
                 "CI/CD, multi-account promotion, tests, model monitoring.",
                 "Explained only: beyond Lab 1."),
    "Scalable": ("Offer what works as a platform for many teams.",
                 "Templates, self-service, shared registry and features, governance.",
                 "Explained only: beyond Lab 1."),
}
for column, stage in zip(st.columns(4), STAGES):
    meaning, practices, coverage = STAGE_SUMMARY[stage]
    with column.container(border=True):
        st.markdown(f"**{stage}**")
        st.write(meaning)
        st.caption(f"Practices: {practices}")
        st.caption(coverage)
        st.page_link(f"pages/stage_{stage.lower()}.py", label=f"The {stage} stage",
                     icon=":material/arrow_forward:")

st.header("Map of the lab")
done = progress(ws)
graph, steps = st.columns([2, 3], gap="large")
graph.graphviz_chart(map_dot(done), width="content")
with steps:
    st.caption("Start with **Explore the data**, then follow the arrows. Steps marked "
               "*not built yet* have a page that says so; they run nothing yet.")
    for step in STEPS:
        state = "done" if done[step.key] else ("to do" if step.built else "not built yet")
        st.page_link(f"pages/{step.page}", label=f"{step.stage}: {step.title} ({state})",
                     icon=step.icon)
        st.caption(step.summary)
