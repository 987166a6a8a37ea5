"""The bench's figures of the app itself, measured from outside its server process.

The bench never imports streamlit's pages: it starts the app (`lab.devserver.running_app`)
and talks to it as a browser does, over the websocket (`lab.load.Session`), or with
chromium for the first render. Three things are measured here:

- a page's rerun (what changing any widget costs) for the pages a learner uses most, on a
  workspace where they show results; beside it the same reruns on a server started with
  the pages' caches switched off (`LAB_PAGE_CACHE=off`, read by pages/_ui.py), the naive
  reference "a full page script rerun without caching";
- the app's peak memory on a workshop server with one attendee, then with thirty, as
  `python -m lab load` drives them (`run_load` against one fresh server);
- Home's first render after a server start in chromium, and its parts: the server's start
  until its health check answers, Home's first script run as the browser's websocket saw
  it, and the rest (the browser loading the front end, connecting, drawing).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

# The pages a learner uses most (URL path, title), in the lab's order
PAGES = (("", "Home"), ("data", "Data"), ("prep", "Prep"), ("feature_store", "Feature Store"),
         ("training", "Training"), ("stage_initial", "Initial stage"))
CACHE_OFF = {"LAB_PAGE_CACHE": "off"}
PLAIN_SERVER = {"LAB_BACKEND": "local", "LAB_WORKSHOP": "0", "LAB_PAGE_CACHE": "on"}


def workspace_with_results(root: Path) -> Path:
    """A fresh workspace where the pages show results: the generated dataset prepared, the
    feature groups ingested and a model trained (the lab's defaults; the steps before the
    registry, as "Run the missing steps" runs them)."""
    from lab import jobs
    from lab.flow import prerequisites_job
    from lab.settings import Settings

    settings = Settings(workspace=root)
    job = jobs.run(settings, prerequisites_job(settings, "registry"))
    if job.status != "Completed":
        raise RuntimeError(f"the steps before the registry failed: {job.error}")
    return root


def page_reruns(urls: list[str], reruns: int, query: str = "") -> list[dict[str, list[float]]]:
    """For each server in `urls`, {page title: seconds of each rerun}: each page opened once
    on every server (the caches fill, the modules load), then rerun `reruns` times with
    nothing changed, the servers in turn (one rerun on each, then again), so that whatever
    else the machine runs falls on all of them alike. A rerun is timed from its request
    sent to the script finished."""
    from lab.load import Session

    found: list[dict[str, list[float]]] = [{} for _ in urls]

    async def walk() -> None:
        async with contextlib.AsyncExitStack() as stack:
            sessions = [await stack.enter_async_context(Session(url, query)) for url in urls]
            for page, title in PAGES:
                for session, times in zip(sessions, found):
                    await session.open(page)
                    times[title] = []
                for _ in range(reruns):
                    for session, times in zip(sessions, found):
                        times[title].append((await session.rerun()).seconds)

    asyncio.run(walk())
    return found


PAGE_RERUN = "page rerun, the slowest of six pages"
PAGE_RERUN_BUDGET_S = 0.1


def page_rerun_figures(reruns: int) -> list[dict[str, Any]]:
    """The lab's page reruns, and the same with the pages' caches off (the reference): two
    servers on one workspace, the reruns taking turns."""
    from lab.devserver import running_app

    with tempfile.TemporaryDirectory(prefix="lab-bench-pages-") as tmp:
        ws = workspace_with_results(Path(tmp) / "ws")
        with running_app(workspace=ws, env=PLAIN_SERVER) as lab_server, running_app(
                workspace=ws, env={**PLAIN_SERVER, **CACHE_OFF}) as naive_server:
            cached, uncached = page_reruns([lab_server.url, naive_server.url], reruns)
    titles = ", ".join(title for _, title in PAGES)
    by_page = "; ".join(f"{t} {statistics.median(cached[t]) * 1000:.0f} ms "
                        f"({statistics.median(uncached[t]) * 1000:.0f} ms uncached)"
                        for _, t in PAGES)
    return [{"name": PAGE_RERUN, "unit": "s", "budget": PAGE_RERUN_BUDGET_S,
             "samples": cached, "reference_samples": uncached,
             "reference_what": "the same reruns, the pages' caches off (LAB_PAGE_CACHE=off)",
             "detail": f"the slowest page's median, the p99 of all reruns; pages: {titles}; "
                       f"{reruns} reruns each after one open, timed by a websocket client "
                       f"from the request to the script finished, taking turns with the "
                       f"reference's server. Medians: {by_page}"}]


ROOM_ONE = "app memory, 1 attendee"
ROOM_THIRTY = "app memory, 30 attendees paced"
SERVER_PART, WORKERS_PART = "server process peak RSS", "its workers' peak RSS"
ROOMS = ((ROOM_ONE, 1), (ROOM_THIRTY, 30))  # (figure, attendees), one after the other


def room_memory_figures(pause_s: float) -> list[dict[str, Any]]:
    """Peak memory of a fresh workshop server (as `lab load` starts one) through one
    attendee's walk, then through thirty attendees' (paced as `lab load` paces them,
    `pause_s` between actions): the server's own process, and its worker processes beside
    it (SQL, offload, training). One server for both, as a class meets it: its workers
    start once (their imports cost seconds of CPU on a fresh server)."""
    from lab.devserver import running_app
    from lab.load import WORKSHOP_SERVER, run_load

    figures = []
    with tempfile.TemporaryDirectory(prefix="lab-bench-room-") as folder, running_app(
            workspace=Path(folder), env=WORKSHOP_SERVER) as server:
        for name, attendees in ROOMS:
            report = run_load(attendees, url=server.url, pause_s=pause_s, settle_s=0.0)
            if report["error_count"] == attendees:
                raise RuntimeError(f"every attendee failed: {report['errors'][0]['error']}")
            figures += _room_figures(name, attendees, pause_s, report)
    return figures


def _room_figures(name: str, attendees: int, pause_s: float, report: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    server = report["server"]
    detail = (f"a workshop server (as `lab load` starts one; the same for both rooms, one "
              f"attendee first), its own process and beside it its worker processes (SQL, "
              f"offload, training); {attendees} attendee(s) walking the lab's first steps, "
              f"about {pause_s:g} s between actions, arriving over "
              f"{min(20.0, 0.5 * attendees):g} s; {report['seconds']} s; errors: "
              f"{report['error_count']}; peak threads {server['peak_threads']}")
    return [{"name": f"{name}: {part}", "unit": "MB", "budget": None,
             "samples": [float(server[key] or 0)], "detail": detail,
             "errors": report["error_count"]}
            for part, key in ((SERVER_PART, "peak_rss_mb"),
                              (WORKERS_PART, "peak_children_rss_mb"))]


HOME_PARTS = {
    "server_start_s": "Home first render, part: server start to health check",
    "first_run_s": "Home first render, part: Home's first script run",
    "browser_s": "Home first render, part: the browser's own load",
}
HOME_DETAILS = {
    "server_start_s": "from starting `streamlit run` to its health check answering (the "
                      "script does not run yet: it runs when a browser connects)",
    "first_run_s": "Home's first script run on the fresh server, as the browser's websocket "
                   "saw it: the run's request sent to `script_finished` received",
    "browser_s": "the whole figure less the first script run: chromium's own work",
}


def home_render_figures(name: str, budget: float, runs: int, warm_up: bool
                        ) -> list[dict[str, Any]]:
    """Chromium's first render of Home on a fresh server (the figure the budget is set
    on), and its parts from the same runs."""
    if warm_up:
        first_render_parts()
    measured = [first_render_parts() for _ in range(runs)]
    figures = [{"name": name, "unit": "s", "budget": budget,
                "samples": [m["total_s"] for m in measured],
                "detail": "chromium: from opening the address to Home drawn, the script "
                          "finished (the server already answering)"}]
    for key, part in HOME_PARTS.items():
        figures.append({"name": part, "unit": "s", "budget": None,
                        "samples": [m[key] for m in measured], "detail": HOME_DETAILS[key]})

    def median(key: str) -> str:
        return f"{statistics.median(m[key] for m in measured):.2f} s"

    figures[-1]["detail"] += (f": before the script run's request (the front end's files, "
                              f"its start, the websocket) {median('browser_before_s')}, after "
                              f"the run (drawing Home) {median('browser_after_s')}")
    return figures


def first_render_parts(app: str = "streamlit_app.py") -> dict[str, float]:
    """Home's first render in chromium on a fresh server, and its parts (seconds):
    `total_s` from opening the address to Home drawn (the server already answering);
    `server_start_s` from starting the server to its health check answering;
    `first_run_s` Home's first script run as the browser's websocket saw it (the rerun
    request sent to `script_finished` received); `browser_s` the rest of `total_s` (the
    front end's load, the connection, the drawing): `browser_before_s` before the run's
    request, `browser_after_s` after its end."""
    from playwright.sync_api import sync_playwright

    from lab.devserver import CHROMIUM_ARGS, DONE_SELECTOR, find_chromium, running_app

    chromium = find_chromium()
    if chromium is None:
        raise RuntimeError("no chromium on this machine")
    with tempfile.TemporaryDirectory() as ws, contextlib.ExitStack() as stack:
        started = time.perf_counter()
        server = stack.enter_context(running_app(app, workspace=Path(ws)))
        server_start = time.perf_counter() - started
        p = stack.enter_context(sync_playwright())
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        page = browser.new_page()
        run = _FirstRun()
        page.on("websocket", run.watch)
        started = time.perf_counter()
        page.goto(server.url)
        page.wait_for_selector(DONE_SELECTOR, timeout=60_000)
        page.get_by_text("stages of MLOps adoption").first.wait_for(timeout=60_000)
        total = time.perf_counter() - started
        if run.sent is None or run.finished is None:
            raise RuntimeError("the browser's websocket showed no whole script run")
        first_run = run.finished - run.sent
        return {"total_s": total, "server_start_s": server_start, "first_run_s": first_run,
                "browser_s": total - first_run, "browser_before_s": run.sent - started,
                "browser_after_s": total - (run.finished - started)}


class _FirstRun:
    """When the browser asked for its first script run, and when that run finished, read
    from the frames on its websocket (Streamlit's BackMsg and ForwardMsg)."""

    def __init__(self) -> None:
        self.sent: float | None = None
        self.finished: float | None = None

    def watch(self, ws) -> None:
        if ws.url.endswith("/_stcore/stream"):
            ws.on("framesent", self._sent)
            ws.on("framereceived", self._received)

    def _sent(self, payload) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if self.sent is None and isinstance(payload, bytes):
            msg = BackMsg()
            msg.ParseFromString(payload)
            if msg.WhichOneof("type") == "rerun_script":
                self.sent = time.perf_counter()

    def _received(self, payload) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        if self.sent is None or self.finished is not None or not isinstance(payload, bytes):
            return
        msg = ForwardMsg()
        msg.ParseFromString(payload)
        if msg.WhichOneof("type") == "script_finished":
            self.finished = time.perf_counter()
