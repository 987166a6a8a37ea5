"""Small UI helpers shared by the pages (the only Streamlit code besides the pages).

Pages stay thin: they read inputs, call one `lab` function and render its result with
these helpers. Nothing here imports boto3, sagemaker, sklearn or xgboost.
"""

from __future__ import annotations

import inspect
import uuid
from pathlib import Path

import streamlit as st

from lab.errors import InputError, LabError
from lab.settings import Settings, load_settings, valid_session_id
from lab.steps import STEPS, progress
from lab.workspace import Workspace

ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _leave_legacy_pages_mode() -> None:
    """Make sure the router runs, even for the first session after a server start.

    Until some script calls st.navigation, Streamlit treats a folder named pages/ beside
    the main script as its older multipage mode: a first session that opens a deep link
    (/prep) would run pages/prep.py directly, without the router's navigation, layout and
    sidebar. Every page imports this module first, so switching that mode off here and
    rerunning sends that session through streamlit_app.py like all the others.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_legacy_pages_mode()


def settings() -> Settings:
    """This browser session's settings: its workspace and the backend it chose."""
    base = load_settings()
    if base.workshop_mode:
        base = base.for_session(_session_id())
    backend = st.session_state.get("backend", base.backend)
    return base.with_backend(backend)


def _session_id() -> str:
    """Workshop mode: one workspace per browser session, its id kept in the URL."""
    sid = st.query_params.get("ws")
    try:
        return valid_session_id(sid)
    except InputError:
        sid = uuid.uuid4().hex[:12]
        st.query_params["ws"] = sid
        return sid


def workspace() -> Workspace:
    return Workspace(settings().workspace)


def sidebar() -> None:
    s = settings()
    with st.sidebar:
        st.caption("Backend")
        choice = st.radio("Backend", ["local", "sagemaker"], key="backend",
                          index=["local", "sagemaker"].index(s.backend), horizontal=True,
                          label_visibility="collapsed",
                          format_func={"local": "Local", "sagemaker": "SageMaker"}.get)
        if choice == "sagemaker":
            from lab.backends import backend_problem

            problem = backend_problem(s)
            if problem:
                st.warning(f"SageMaker is not usable here: {problem}", icon=":material/cloud_off:")
        st.caption("Workspace")
        st.code(str(s.workspace), language=None, wrap_lines=True)
        done = progress(Workspace(s.workspace))
        built = [step for step in STEPS if step.built]
        st.caption(f"Progress: {sum(done[x.key] for x in built)} of {len(built)} built steps")
        st.progress(sum(done[x.key] for x in built) / max(1, len(built)))
        for step in STEPS:
            if done[step.key]:
                mark = ":green[:material/check_circle:]"
            elif step.built:
                mark = ":gray[:material/radio_button_unchecked:]"
            else:
                mark = ":gray[:material/construction:]"
            st.markdown(f"{mark} {step.title}" + ("" if step.built else " :gray[(not built yet)]"))


def markdown_asset(name: str) -> None:
    st.markdown((ASSETS / "stages" / f"{name}.md").read_text())


def diagram(name: str) -> None:
    st.graphviz_chart((ASSETS / "diagrams" / f"{name}.dot").read_text(),
                      width="stretch")


def show_error(exc: LabError) -> None:
    st.error(str(exc), icon=":material/error:")


def show_code(*functions, title: str = "The code that ran") -> None:
    """Print the source of the functions a step called, so it cannot drift from what ran."""
    with st.expander(title, icon=":material/code:"):
        for fn in functions:
            st.code(inspect.getsource(fn), language="python")


def not_built(step_key: str) -> None:
    step = next(s for s in STEPS if s.key == step_key)
    st.title(step.title)
    st.caption(f"{step.stage} stage")
    st.info(f"**Not built yet.** This step ({step.summary[0].lower() + step.summary[1:]}) "
            "is planned for this lab but has no working page yet, so nothing here runs and "
            "no results are shown.", icon=":material/construction:")


def stage_page(stage: str) -> None:
    """A stage's page: what it means, its practices, a diagram, and the lab's steps in it."""
    from lab.steps import steps_of

    st.title(f"The {stage} stage")
    left, right = st.columns([3, 2], gap="large")
    with left:
        markdown_asset(stage.lower())
    with right:
        diagram(stage.lower())
        steps = steps_of(stage)
        if steps:
            st.subheader("Steps in this lab")
            done = progress(workspace())
            for step in steps:
                status = "done" if done[step.key] else ("to do" if step.built else "not built yet")
                st.page_link(f"pages/{step.page}", label=f"{step.title} ({status})",
                             icon=step.icon)
                st.caption(step.summary)
