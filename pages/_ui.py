"""Small UI helpers shared by the pages (the only Streamlit code besides the pages).

Pages stay thin: they read inputs, call one `lab` function and render its result with
these helpers. Nothing here imports boto3, sagemaker, sklearn or xgboost.
"""

from __future__ import annotations

import functools
import inspect
import os
import runpy
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

from lab import workerpool
from lab.backends import LABELS, backend_problem
from lab.errors import InputError, LabError
from lab.settings import Settings, load_settings, valid_session_id
from lab.steps import STEPS, code_of, next_page, progress, steps_on
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
    ws = workspace()
    if settings().workshop_mode:  # the instructor's view shows when each attendee was here
        from lab.instructor import touch_activity

        touch_activity(ws)
        _warm_workers()
    if presenter():
        st.markdown(f"<style>{(ASSETS / 'presenter.css').read_text()}</style>",
                    unsafe_allow_html=True)
    return ws


def _warm_workers() -> None:
    """A workshop server's first page (and the first after its room left, see
    `_room_left`): starts its worker processes. The first time, it also moves what the
    server has loaded so far (modules, the app's objects) out of the garbage collector's
    reach, so that its full collections, rare without Streamlit's collection after every
    run, only walk what sessions made since."""
    global _WARM, _FROZEN
    with _SERVER_LOCK:
        if _WARM:
            return
        _WARM, first, _FROZEN = True, not _FROZEN, True
    import gc

    from lab import offload

    offload.warm()
    if first:
        gc.freeze()


def presenter() -> bool:
    """Presenter mode (sidebar toggle, or `?present=1` in a link): larger fonts and charts,
    and the details (code, logs, JSON) left out."""
    return bool(st.session_state.get("presenter"))


# Page-level caches (st.cache_data): what a page recomputes from files that did not change
# (a dataset's table and charts, a finished run's charts). Keys are the files' contents, so
# thirty attendees with the generated dataset share one entry; entries are bounded in count
# and age, so a long workshop does not grow the server's memory.
# Figures are kept as shared objects (st.cache_resource, same bounds): copying one out of
# st.cache_data (a pickle) cost as much as building it. `chart` never changes a figure.
CACHE = {"max_entries": 64, "ttl": 3600, "show_spinner": False}


class _Uncached:
    """A measuring aid, not a setting for a class: with LAB_PAGE_CACHE=off in a server's
    environment (read once, when this module is first imported), the pages' st.cache_data
    and st.cache_resource decorators are plain calls in that process, so every rerun
    recomputes what they keep. `python -m lab bench` starts a second server this way for
    the page rerun's reference ("a full page script rerun without caching")."""

    def __call__(self, func=None, **_):
        return func if func is not None else (lambda f: f)

    def clear(self, *args, **kwargs) -> None:
        pass


if os.environ.get("LAB_PAGE_CACHE", "").lower() == "off":
    st.cache_data = st.cache_resource = _Uncached()  # pages keep `@st.cache_data(**CACHE)`


def fingerprint(*paths) -> str:
    """The contents of files (missing ones count as empty), as a short cache key: about a
    millisecond for the 10,000-row dataset."""
    import hashlib

    digest = hashlib.blake2b(digest_size=16)
    for path in paths:
        try:
            digest.update(Path(path).read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()


def chart(fig, key: str, **kwargs) -> None:
    """A lab chart (already styled for a room in lab/), larger still in presenter mode."""
    if presenter():  # on a copy: the figure may be a cached one, shared by sessions
        fig = type(fig)(fig)
        fig.update_layout(font_size=20, title_font_size=24,
                          height=int((fig.layout.height or 420) * 1.3))
    st.plotly_chart(fig, key=key, **kwargs)


def _slot_count() -> int:
    try:
        return max(1, int(os.environ.get("LAB_SCRIPT_SLOTS", "")))
    except ValueError:
        return max(2, os.cpu_count() or 1)


# Script slots: how many sessions' scripts run at once in this server. Every session's
# script is a thread of the one server process, under one GIL: with fifty attendees
# arriving at once, fifty runnable threads took turns of 5 ms each, and the server's own
# event loop (websockets, the health check) waited its turn behind all of them (its
# slowest health answer was 1.9 s). A script waits for a slot before it runs, holding
# nothing; one slot per core. A script that waits on a worker process (the in-process
# preparation, a DuckDB query) computes nothing, so it gives its slot up while it waits
# (`_slot_given_up`). LAB_SCRIPT_SLOTS overrides the count (for measuring).
_SLOTS = threading.BoundedSemaphore(_slot_count())
_IN_SLOT = threading.local()


@contextmanager
def _slot_given_up():
    """While this script waits on a worker process, another session's script may run."""
    if not getattr(_IN_SLOT, "held", False):
        yield
        return
    _SLOTS.release()
    try:
        yield
    finally:
        _SLOTS.acquire()


workerpool.set_waiting(_slot_given_up)


@contextmanager
def script_slot():
    """Run the router's script in one of the server's script slots (re-entrant on a
    thread: a page run directly runs the router inside its own run)."""
    if getattr(_IN_SLOT, "held", False):
        yield
        return
    with _SLOTS:
        _IN_SLOT.held = True
        collector = _collector()
        collector.busy()
        try:
            yield
        finally:
            collector.done()
            _IN_SLOT.held = False


_SERVER_LOCK = threading.Lock()
_COLLECTOR = None  # the server's IdleCollector, once started
_WARM = False  # the worker processes were started for the room (see _warm_workers)
_FROZEN = False  # gc.freeze ran (once per process)


def _collector():
    """The server's idle collector (lab/memory.py), one per process: once no script has run
    for a while, a full collection and the C allocator's free pages handed back. Started
    with it: closed sessions shut down when their reconnect window ends, and `_room_left`
    when the last one has (pages/_room.py). (Not st.cache_resource: LAB_PAGE_CACHE=off
    would start one per run.)"""
    global _COLLECTOR
    with _SERVER_LOCK:
        if _COLLECTOR is not None:
            return _COLLECTOR
        from lab.memory import IdleCollector

        _COLLECTOR = IdleCollector(idle_s=10.0, every_s=30.0).start()
    from pages._room import install

    install(room_left=_room_left)
    return _COLLECTOR


def _room_left() -> None:
    """Every session has ended (the last one's reconnect window too): the pages' caches are
    emptied, the idle worker processes stopped (a workshop server's next first page starts
    them again, other callers on first use) and the memory handed back to the system."""
    global _WARM
    with _SERVER_LOCK:
        _WARM = False
    st.cache_data.clear()
    st.cache_resource.clear()
    from lab import warm
    from lab.memory import give_back

    workerpool.stop_idle()  # those lent out (a job that outlived its tab) go on
    warm.stop_if_idle()
    give_back()


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
    """Workshop mode: one workspace per browser session, its id kept in the URL (so a
    reload finds it) and in the session (Streamlit drops the URL's query parameters when
    the learner moves to another page: without this each page got a new workspace)."""
    try:
        sid = valid_session_id(st.query_params.get("ws"))
    except InputError:
        try:
            sid = valid_session_id(st.session_state.get("_workshop_session"))
        except InputError:
            sid = uuid.uuid4().hex[:12]
        st.query_params["ws"] = sid
    st.session_state["_workshop_session"] = sid
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


def sidebar():
    """The sidebar: backend, workspace, presenter mode; returns the box that
    `sidebar_progress` fills once the page has run (so it shows what the page just did)."""
    s = settings()
    if "presenter" not in st.session_state and st.query_params.get("present") == "1":
        st.session_state["presenter"] = True
    with st.sidebar:
        st.toggle("Presenter mode", key="presenter", help="Larger fonts and charts for a "
                  "projector; code, logs and JSON are left out. A link with ?present=1 "
                  "opens in this mode.")
        st.caption("Backend")
        offered = list(s.allowed_backends)  # a workshop server may offer only its own
        st.radio("Backend", offered, key="backend", index=offered.index(s.backend),
                 horizontal=True, label_visibility="collapsed", format_func=LABELS.get)
        problem = backend_problem(settings())
        if problem:
            st.warning(f"{LABELS[settings().backend]} is not usable here: {problem}",
                       icon=":material/cloud_off:")
        aws_sidebar(settings(), problem)
        st.caption("Workspace")
        st.code(s.workspace_label, language=None, wrap_lines=True)
        return st.container()


def sidebar_progress(box) -> None:
    """The steps done so far, read after the page ran (a step it just did shows as done)."""
    done = progress(workspace())
    built = [x for x in STEPS if x.built]
    count = sum(done[x.key] for x in built)
    with box:
        st.caption(f"Progress: {count} of {len(built)} steps")
        st.progress(count / max(1, len(built)))
        for x in STEPS:
            mark = (":green[:material/check_circle:]" if done[x.key]
                    else ":gray[:material/radio_button_unchecked:]")
            st.markdown(f"{mark} {x.title}")


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
    if presenter():
        return
    with st.expander(title, icon=":material/code:"):
        for fn in functions:
            st.code(_source(fn), language="python")


@functools.lru_cache(maxsize=512)
def _source(fn) -> str:
    """A function's source, read once per server (inspect tokenizes the whole file each
    time: 5 ms of every rerun of a page that shows its code). The server does not reload
    edited code (no file watcher: .streamlit/config.toml), so neither does this."""
    return inspect.getsource(fn)


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


def stage_page(stage: str, practices: dict[str, str] | None = None) -> None:
    """A stage's page: a full-width diagram, what the stage means and brings, and the lab's
    steps in it, then the way on. `practices` ({step key: asset name}): a section per
    practice, its text (assets/stages/NAME.md) beside its diagram (assets/diagrams/NAME.dot)
    and a link to the step where the learner does it."""
    from lab.steps import stage_file, steps_of

    ws = open_page()
    st.title(f"The {stage} stage")
    diagram(stage.lower())
    left, right = st.columns([3, 2], gap="large")
    with left:
        markdown_asset(stage.lower())
    with right:
        done = progress(ws)
        st.subheader("In this lab")
        for x in steps_of(stage):
            status = "done" if done[x.key] else "to do"
            st.page_link(f"pages/{x.page}", label=f"{x.title} ({status})", icon=x.icon)
            st.caption(x.summary)
    from lab.steps import step as step_of

    for key, asset in (practices or {}).items():
        st.divider()
        text, picture = st.columns([3, 2], gap="large")
        with text:
            markdown_asset(asset)
            x = step_of(key)
            st.page_link(f"pages/{x.page}", label=f"Do it: {x.title}", icon=x.icon)
        with picture:
            diagram(asset)
    next_link(stage_file(stage))


def job_panel(kind: str, session_key: str, empty_text: str, *, render_result=None,
              render_live=None, log_title: str | None = None, stop_key: str | None = None,
              log_lines: int = 40) -> None:
    """Status, progress, stop button, live view and log of the latest job of `kind`: the one
    panel every long task uses.

    The page keeps only the job id (in session state, or the latest job of that kind in the
    workspace after a reload). While the job runs the panel polls (`poll_interval`) and calls
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
    every = poll_interval(job.duration_s) if polling else None

    @st.fragment(run_every=every)
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
        if presenter():
            pass  # the log is a detail: presenter mode leaves it out
        elif log_title:
            with st.expander(log_title):
                st.code(log, language="log")
        else:
            st.code(log, language="log")
        if polling and (current.finished or poll_interval(current.duration_s) > every):
            st.rerun()  # the page shows the results, or polls again less often

    panel()


def poll_interval(age_s: float) -> float:
    """How often a job panel looks at a running job: four times a second in its first 2 s
    (most local jobs end within a second: a one-second first look was most of a click's
    wait), every second until 10 s, then every 2 s, and every 5 s after a minute (SageMaker
    jobs run for minutes; thirty panels polling each second were a server's steady load)."""
    return 0.25 if age_s < 2 else 1.0 if age_s < 10 else 2.0 if age_s < 60 else 5.0


def prerequisites(step_key: str) -> bool:
    """True when the step's inputs are there. Otherwise say what is missing and offer to run
    the missing steps in one click (a job, with progress); the page then stops."""
    from lab import jobs
    from lab.flow import LAB_RUN_KIND, missing_before, prerequisites_job

    missing = missing_before(workspace(), step_key)
    if not missing:
        return True
    titles = ", ".join(f"**{x.title}**" for x in missing)
    st.info(f"This step reads what earlier steps make, and these have not run yet: {titles}. "
            "Run them now with the lab's defaults (you can redo any of them later on its "
            "own page), or open them to do them yourself.", icon=":material/info:")
    c1, c2 = st.columns([1, 2])
    if c1.button(f"Run the {len(missing)} missing step(s)", type="primary",
                 icon=":material/play_arrow:", key=f"prereq_run_{step_key}"):
        from lab.errors import LabError

        try:
            st.session_state[f"prereq_{step_key}"] = jobs.start(
                settings(), prerequisites_job(settings(), step_key))
        except LabError as exc:
            show_error(exc)
    with c2:
        for x in missing:
            st.page_link(f"pages/{x.page}", label=f"Open {x.title}", icon=x.icon)
    job_panel(LAB_RUN_KIND, f"prereq_{step_key}", "Nothing started yet.",
              log_title="What ran", stop_key=f"prereq_stop_{step_key}")
    return False


def next_link(page_file: str, label: str | None = None) -> None:
    """The way on: a link to the page after this one in the lab's order."""
    after = next_page(page_file)
    if after is not None:
        st.page_link(f"pages/{after.file}", label=label or f"Next: {after.title}",
                     icon=":material/arrow_forward:")


def deep_link(page_file: str, anchor: str = "") -> str:
    """The address of a page (and section) on this server, without the session's
    workspace id: safe to share on a projector or in a chat."""
    base = str(st.context.url or "").split("?")[0].split("#")[0]
    root = base.rsplit("/", 1)[0] if base.count("/") > 2 else base.rstrip("/")
    path = "" if page_file == "home.py" else Path(page_file).stem
    return f"{root}/{path}" + (f"#{anchor}" if anchor else "")


def step_footer(page_file: str) -> None:
    """Under each step page: its deep link(s), "Reset this step" (with a confirmation),
    and the link to the next page."""
    from lab.flow import reset_step

    st.divider()
    left, right = st.columns(2, gap="large")
    with left:
        for x in steps_on(page_file):
            st.caption(f"Deep link to **{x.title}**")
            st.code(deep_link(page_file, x.anchor), language=None)
    with right, st.expander("Reset this step", icon=":material/restart_alt:"):
        for x in steps_on(page_file):
            st.write(f"**{x.title}**: removes what it wrote in this workspace, so you can "
                     "do it again from the start. Later steps keep their own results; "
                     "resources in an AWS account are not deleted.")
            sure = st.checkbox(f"Yes, reset {x.title}", key=f"reset_sure_{x.key}")
            if st.button(f"Reset {x.title}", key=f"reset_{x.key}",
                         icon=":material/restart_alt:", disabled=not sure):
                from lab.errors import LabError

                try:
                    removed = reset_step(settings(), x.key)
                    st.session_state.pop(f"reset_sure_{x.key}", None)
                    st.toast(f"{x.title} reset ({len(removed)} item(s) removed)")
                    st.rerun()
                except LabError as exc:
                    show_error(exc)
    next_link(page_file)


def what_to_notice(*points: str) -> None:
    """Beside a result: the few things a learner should look at in it."""
    st.markdown("**What to notice**\n" + "\n".join(f"- {p}" for p in points))


def concept(title: str, body: str, expanded: bool = False) -> None:
    """A concept the workshop teaches, where the learner meets it (folded by default)."""
    with st.expander(title, icon=":material/school:", expanded=expanded):
        st.markdown(body)


def table(rows, **kwargs) -> None:
    """A table with the lab's number format (the numbers stay numbers: it still sorts):
    each column's format applied by the browser where a column's numbers allow one, else
    a pandas Styler (lab/formats.py says which, and why)."""
    import pandas as pd

    from lab.formats import column_formats, styled

    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    formats = column_formats(frame)
    if formats is None:
        st.dataframe(styled(frame), hide_index=True, **kwargs)
        return
    config = {name: st.column_config.NumberColumn(format=fmt) for name, fmt in formats.items()}
    st.dataframe(frame, hide_index=True, column_config=config, **kwargs)


def checkpoint_page(stage: str) -> None:
    """A stage's checkpoint: knowledge checks (an explanation for every answer) and what the
    workspace should show now, both kept in the workspace; then the way on."""
    from lab.checkpoints import answer, answers, observe, questions_of
    from lab.steps import checkpoint_file

    ws = open_page()
    st.title(f"{stage} checkpoint")
    questions = questions_of(stage)
    st.write(f"{len(questions)} questions about what the {stage} stage teaches. Pick an "
             "answer to see why it is right, or why not; your answers are kept in your "
             "workspace and shown on Home.")
    given = answers(ws)
    for i, q in enumerate(questions, 1):
        with st.container(border=True):
            st.markdown(f"**{i}. {q.text}**")
            key = f"cp_{q.id}"
            if key not in st.session_state and q.id in given:
                st.session_state[key] = given[q.id].choice
            choice = st.radio(q.text, list(range(len(q.choices))), index=None, key=key,
                              format_func=lambda c, q=q: q.choices[c].text,
                              label_visibility="collapsed")
            if choice is not None:
                result = answer(ws, q.id, int(choice)) if (
                    q.id not in given or given[q.id].choice != choice) else given[q.id]
                if result.correct:
                    st.success(result.why, icon=":material/check_circle:")
                else:
                    st.error(f"{result.why} The answer: *{result.right_answer}*",
                             icon=":material/cancel:")
                    st.page_link(f"pages/{q.topic}", label="Read it again",
                                 icon=":material/school:")
    found = observe(settings(), stage)
    if found:
        st.header("What you should see now")
        st.caption("Computed from your workspace when this page opened.")
        for o in found:
            with st.container(border=True):
                mark = ":green[:material/check_circle:]" if o.ok else \
                    ":orange[:material/pending:]"
                st.markdown(f"{mark} **{o.expect}**  \n{o.found}")
                if not o.ok and o.page:
                    st.page_link(f"pages/{o.page}", label="Go and do it",
                                 icon=":material/arrow_forward:")
    next_link(checkpoint_file(stage))


def take_it_home() -> None:
    """Download the lab as a notebook (made when the button is pressed)."""
    from lab.export import notebook_bytes

    st.header("Take it home")
    st.write("Your lab as a Jupyter notebook: the prose and the code of each step, with the "
             "parameters you chose. The *local* notebook calls the lab and runs anywhere it "
             "is installed; the *SageMaker* one is the workshop's SDK v2 code, for an AWS "
             "account. Same as `python -m lab export-notebook --target local|sagemaker -o "
             "FILE.ipynb`.")
    c1, c2 = st.columns(2)
    c1.download_button("Download the local notebook", lambda: notebook_bytes(settings(), "local"),
                       file_name="mlops-lab-local.ipynb", mime="application/x-ipynb+json",
                       icon=":material/download:", key="nb_local", on_click="ignore")
    c2.download_button("Download the SageMaker notebook",
                       lambda: notebook_bytes(settings(), "sagemaker"),
                       file_name="mlops-lab-sagemaker.ipynb", mime="application/x-ipynb+json",
                       icon=":material/download:", key="nb_sagemaker", on_click="ignore")


def end_page(page_file: str) -> None:
    """Stop the page early (what follows needs something not there yet), keeping its footer:
    the deep link, the reset and the way on."""
    step_footer(page_file)
    st.stop()


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
