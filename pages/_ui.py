"""Small UI helpers shared by the pages (the only Streamlit code besides the pages).

Pages stay thin: they read inputs, call one `lab` function and render its result with
these helpers. Nothing here imports boto3, sagemaker, sklearn or xgboost.
"""

from __future__ import annotations

import inspect
import runpy
import threading
import uuid
from pathlib import Path

import streamlit as st

from lab.backends import LABELS, backend_problem
from lab.errors import InputError, LabError
from lab.settings import Settings, load_settings, valid_session_id
from lab.steps import STEPS, code_of, progress
from lab.workspace import Workspace

ASSETS = Path(__file__).resolve().parent.parent / "assets"
ROUTER = Path(__file__).resolve().parent.parent / "streamlit_app.py"
_ROUTED = threading.local()  # set while the router runs a page, on that script's thread


def open_page() -> Workspace:
    """Call first on every page: makes sure the router ran, returns the session's workspace.

    Until some script calls st.navigation, Streamlit treats a folder named pages/ beside
    the main script as its older multipage mode, and runs a deep link's page file directly
    (/prep runs pages/prep.py without the router: no navigation, sidebar or wide layout).
    That happens to the first sessions after a server start, and to every AppTest run. A
    page that finds itself run that way switches the mode off and runs the router in its
    place (not st.rerun, which would drop the click that started this run), then stops.
    Whether the router runs this page is asked of the run itself (`run_page` marks it),
    not of Streamlit's process-wide flag: sessions opened at the same moment after a start
    (a workshop room) saw the flag already switched off by the first one, and rendered
    their page with no sidebar and no navigation.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if not getattr(_ROUTED, "active", False):
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(ROUTER), run_name="__main__")
        st.stop()
    return workspace()


def run_page(page) -> None:
    """The router's last call: run the chosen page, marked as run by the router."""
    _ROUTED.active = True
    try:
        page.run()
    finally:
        _ROUTED.active = False


def settings() -> Settings:
    """This browser session's settings: its workspace and the backend it chose."""
    base = load_settings()
    if base.workshop_mode:
        base = base.for_session(_session_id())
    backend = st.session_state.get("backend", base.backend)
    try:
        return base.choose_backend(backend)
    except InputError:  # a backend this server does not offer: its default instead
        return base


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


def hide_paths(value):
    """On a workshop server, the server's folders in text (a log, an error, a path, or
    the strings in a dict or list) shown as <workspace> and <server>: attendees see their
    own files, never where the server keeps them."""
    s = settings()
    if not s.workshop_mode:
        return value
    if isinstance(value, dict):
        return {k: hide_paths(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [hide_paths(v) for v in value]
    if not isinstance(value, str):
        return value
    return (value.replace(str(s.workspace), "<workspace>")
            .replace(str(load_settings().workspace), "<server>"))


def sidebar() -> None:
    s = settings()
    with st.sidebar:
        st.caption("Backend")
        offered = list(s.allowed_backends)  # a workshop server may offer only its own
        st.radio("Backend", offered, key="backend", index=offered.index(s.backend),
                 horizontal=True, label_visibility="collapsed", format_func=LABELS.get)
        problem = backend_problem(settings())
        if problem:
            st.warning(f"{LABELS[settings().backend]} is not usable here: {problem}",
                       icon=":material/cloud_off:")
        st.caption("Workspace")
        st.code(s.workspace_label, language=None, wrap_lines=True)
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


def resume_endpoints() -> None:
    """After an app restart, serve the workspace's endpoints again where that is the lab's
    job (the local backend); cheap when there is nothing to do."""
    from lab.serving import resume_endpoints as resume

    try:
        resume(settings())
    except LabError as exc:
        st.sidebar.warning(f"The endpoints could not be served: {exc}")


def markdown_asset(name: str) -> None:
    st.markdown((ASSETS / "stages" / f"{name}.md").read_text())


def diagram(name: str) -> None:
    st.graphviz_chart((ASSETS / "diagrams" / f"{name}.dot").read_text(),
                      width="stretch")


def show_error(exc: LabError) -> None:
    st.error(hide_paths(str(exc)), icon=":material/error:")


def show_code(*functions, title: str = "The code that ran") -> None:
    """Print the source of the functions a step called, so it cannot drift from what ran."""
    with st.expander(title, icon=":material/code:"):
        for fn in functions:
            st.code(inspect.getsource(fn), language="python")


def show_step_code(step_key: str, title: str = "The code that ran") -> None:
    """The functions that run `step_key` on this session's backend (the step registry asks
    the backend's implementation)."""
    show_code(*code_of(step_key, settings()), title=title)


def backend_note(implementation) -> None:
    """What a learner should know about running this step on the chosen backend."""
    if implementation.note:
        st.caption(f"{implementation.label} backend: {implementation.note}")


def not_built(step_key: str) -> None:
    open_page()
    step = next(s for s in STEPS if s.key == step_key)
    st.title(step.title)
    st.caption(f"{step.stage} stage")
    st.info(f"**Not built yet.** This step ({step.summary[0].lower() + step.summary[1:]}) "
            "is planned for this lab but has no working page yet, so nothing here runs and "
            "no results are shown.", icon=":material/construction:")


def stage_page(stage: str) -> None:
    """A stage's page: what it means, its practices, a diagram, and the lab's steps in it."""
    from lab.steps import steps_of

    ws = open_page()
    st.title(f"The {stage} stage")
    left, right = st.columns([3, 2], gap="large")
    with left:
        markdown_asset(stage.lower())
    with right:
        diagram(stage.lower())
        steps = steps_of(stage)
        if steps:
            st.subheader("Steps in this lab")
            done = progress(ws)
            for step in steps:
                status = "done" if done[step.key] else ("to do" if step.built else "not built yet")
                st.page_link(f"pages/{step.page}", label=f"{step.title} ({status})",
                             icon=step.icon)
                st.caption(step.summary)


def job_panel(kind: str, session_key: str, empty_text: str, *, render_result=None,
              render_live=None, log_title: str | None = None, stop_key: str | None = None,
              log_lines: int = 40) -> None:
    """Status, progress, stop button, live view and log of the latest job of `kind`: the one
    panel every long task uses.

    The page keeps only the job id (in session state, or the latest job of that kind in the
    workspace after a reload). While the job runs the panel polls once a second and calls
    `render_live(job)` (trials as they finish, the pipeline's DAG); once it has Completed it
    calls `render_result(job)`, and it reruns the whole page when the job ends so everything
    else shows the new results. A job that failed or stopped shows why. The log is shown
    under the panel, or folded in an expander named `log_title`.
    """
    from lab.jobs import COMPLETED, JobStore

    store = JobStore(workspace())
    job_id = st.session_state.get(session_key)
    if job_id is None:
        latest = store.list(kind)
        job_id = latest[0].job_id if latest else None
    job = store.get(job_id) if job_id else None
    polling = job is not None and not job.finished

    @st.fragment(run_every=1.0 if polling else None)
    def panel() -> None:
        current = store.get(job_id) if job_id else None
        if current is None:
            st.info(empty_text, icon=":material/info:")
            return
        st.markdown(f"**{current.job_id}**: {current.status} ({current.duration_s:.1f} s)")
        if not current.finished:
            st.progress(current.progress, text=current.message)
            if st.button("Stop the job", icon=":material/stop:",
                         key=stop_key or f"stop_{kind}"):
                store.request_cancel(current.job_id)
        elif current.status != COMPLETED:
            st.error(hide_paths(f"The job {current.status.lower()}: {current.error}"),
                     icon=":material/error:")
        if render_live is not None:
            render_live(current)
        if current.status == COMPLETED and render_result is not None:
            render_result(current)
        log = hide_paths(store.log(current.job_id, tail=log_lines)) or "(no output yet)"
        if log_title:
            with st.expander(log_title):
                st.code(log, language="log")
        else:
            st.code(log, language="log")
        if polling and current.finished:
            st.rerun()

    panel()
