"""Small UI helpers shared by the pages (the only Streamlit code besides the pages).

Pages stay thin: they read inputs, call one `lab` function and render its result with
these helpers. Nothing here imports boto3, sagemaker, sklearn or xgboost.
"""

from __future__ import annotations

import inspect
import runpy
import uuid
from pathlib import Path

import streamlit as st

from lab.backends import LABELS, backend_problem
from lab.errors import InputError, LabError
from lab.settings import BACKENDS, Settings, load_settings, valid_session_id
from lab.steps import STEPS, code_of, progress
from lab.workspace import Workspace

ASSETS = Path(__file__).resolve().parent.parent / "assets"
ROUTER = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def open_page() -> Workspace:
    """Call first on every page: makes sure the router ran, returns the session's workspace.

    Until some script calls st.navigation, Streamlit treats a folder named pages/ beside
    the main script as its older multipage mode, and runs a deep link's page file directly
    (/prep runs pages/prep.py without the router: no navigation, sidebar or wide layout).
    That happens to the first session after a server start, and to every AppTest run. A
    page that finds itself run that way switches the mode off and runs the router in its
    place (not st.rerun, which would drop the click that started this run), then stops.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        runpy.run_path(str(ROUTER), run_name="__main__")
        st.stop()
    return workspace()


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
        st.radio("Backend", list(BACKENDS), key="backend", index=BACKENDS.index(s.backend),
                 horizontal=True, label_visibility="collapsed", format_func=LABELS.get)
        problem = backend_problem(settings())
        if problem:
            st.warning(f"{LABELS[settings().backend]} is not usable here: {problem}",
                       icon=":material/cloud_off:")
        aws_sidebar(settings(), problem)
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
    st.error(str(exc), icon=":material/error:")


def show_code(*functions, title: str = "The code that ran") -> None:
    """Print the source of the functions a step called, so it cannot drift from what ran."""
    with st.expander(title, icon=":material/code:"):
        for fn in functions:
            st.code(inspect.getsource(fn), language="python")


def show_step_code(step_key: str, title: str = "The code that ran") -> None:
    """The functions that run `step_key` on this session's backend (the step registry asks
    the backend's implementation), and what the step last ran on AWS (launched_code)."""
    show_code(*code_of(step_key, settings()), title=title)
    launched_code(step_key)


def backend_note(implementation) -> None:
    """What a learner should know about running this step on the chosen backend, and, where
    it launches instances, their type and estimated price before the launch."""
    if implementation.note:
        st.caption(f"{implementation.label} backend: {implementation.note}")
    launch_estimate(implementation)


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
            st.error(f"The job {current.status.lower()}: {current.error}", icon=":material/error:")
        if render_live is not None:
            render_live(current)
        if current.status == COMPLETED and render_result is not None:
            render_result(current)
        log = store.log(current.job_id, tail=log_lines) or "(no output yet)"
        if log_title:
            with st.expander(log_title):
                st.code(log, language="log")
        else:
            st.code(log, language="log")
        if polling and current.finished:
            st.rerun()

    panel()


# --- AWS: connection check, running endpoints, launch prices, the code that ran ---------
# (no boto3 here: lab.backends, lab.cleanup and lab.aws.prices import it only when asked)

def connection_panel(key: str, compact: bool = False) -> None:
    """The "Check the connection" button and its answer, one line per check, each failure
    with its fix (AWS calls on SageMaker; the answer is kept for the session). `compact`
    (the sidebar): only what failed or could not be told, or one line when all passed."""
    from lab.backends import check_connection

    if st.button("Check the connection", icon=":material/network_check:", key=key):
        with st.spinner("Asking AWS..."):
            st.session_state[f"{key}_report"] = check_connection(settings())
    report = st.session_state.get(f"{key}_report")
    if report is None or report["backend"] != settings().backend:
        return
    icons = {"passed": ":material/check_circle:", "failed": ":material/error:",
             "unknown": ":material/help:", "skipped": ":material/remove_circle_outline:"}
    checks = report["checks"]
    if compact:
        checks = [c for c in checks if c["status"] in ("failed", "unknown")]
        if report["ok"] and not checks:
            st.success("Connected: every check passed.", icon=icons["passed"])
    for check in checks:
        text = f"**{check['name']}**: {check['message']}"
        if check["fix"] and check["status"] in ("failed", "unknown"):
            text += f" *Fix:* {check['fix']}"
        show = {"passed": st.success, "failed": st.error}.get(check["status"], st.info)
        show(text, icon=icons[check["status"]])


def aws_sidebar(s: Settings, problem: str | None) -> None:
    """The sidebar's running endpoints (every page: a file read locally; on SageMaker AWS
    is asked at most once a minute, and not at all while the backend cannot run) and, for
    a backend with a service, the connection check."""
    from lab.backends import has_connection
    from lab.cleanup import running_endpoints

    running = [] if problem else running_endpoints(s)
    if running:
        billed = any(e.hourly_usd for e in running)  # locally an endpoint costs nothing
        (st.error if billed else st.info)(
            f"**{len(running)} endpoint(s) running**: " + "; ".join(e.text for e in running),
            icon=":material/payments:" if billed else ":material/dns:")
        st.page_link("pages/cleanup.py", label="Resources & cleanup",
                     icon=":material/cleaning_services:")
    if has_connection(s):
        with st.expander("Connection", icon=":material/cloud:"):
            connection_panel("sidebar_check", compact=True)


def launch_estimate(implementation) -> None:
    """Where a step launches instances: their type and estimated price, before the launch."""
    estimate = getattr(implementation, "launch_estimate", None)
    if estimate is None:
        return
    from lab.aws.prices import source_note

    st.caption(f":material/payments: Before you launch: {estimate().text}. {source_note()}")


def launched_code(step_key: str) -> None:
    """What this step last launched on AWS: the SDK v2 code that ran, with its real names
    and URIs, and its instances and billed time (the twins' records; no AWS call)."""
    from lab.cleanup import launches

    latest: dict[str, object] = {}
    for record in launches(settings(), step_key):
        latest.setdefault(record.kind, record)
    for record in latest.values():
        with st.expander(f"The SDK v2 code that ran on SageMaker: {record.kind} "
                         f"{record.name}", icon=":material/cloud_done:"):
            st.caption(record.summary + (f" — [console]({record.console_url})"
                                         if record.console_url else ""))
            st.code(record.code, language="python")
