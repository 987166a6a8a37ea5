"""A workshop server with many attendees at once: websocket clients that speak Streamlit's
own protocol (protobuf BackMsg/ForwardMsg on /_stcore/stream), on 127.0.0.1, bounded in
count and time, plus one real browser page for the smoke check.

Each session must get its own workspace (its id from the URL), see only its own id and
never the server's folder, and be offered only the backends the server allows.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from lab.devserver import CHROMIUM_ARGS, DONE_SELECTOR, find_chromium, running_app

SESSIONS = 12  # attendees opening the data page at the same moment
TIME_LIMIT_S = 120
SHOTS = Path(__file__).resolve().parent / "screenshots"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def workshop(tmp_path_factory):
    pytest.importorskip("websockets", reason="websockets is in requirements-test.txt")
    root = tmp_path_factory.mktemp("workshop-server")
    with running_app(workspace=root, env={"LAB_WORKSHOP": "1", "LAB_BACKEND": "local",
                                          "LAB_WORKSHOP_BACKENDS": ""}) as server:
        yield server, root


async def _session(url: str, query: str, page: str) -> str:
    """Run one page in a new session; all the ForwardMsgs it got, as text."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    texts = []
    stream = url.replace("http://", "ws://") + "/_stcore/stream"
    async with websockets.connect(stream, subprotocols=["streamlit"], max_size=None) as ws:
        request = BackMsg()
        request.rerun_script.query_string = query
        request.rerun_script.page_name = page
        await ws.send(request.SerializeToString())
        while True:
            reply = ForwardMsg()
            reply.ParseFromString(await ws.recv())
            texts.append(str(reply))
            if reply.WhichOneof("type") == "script_finished":
                return "\n".join(texts)


async def _room(url: str, queries: list[str], page: str) -> list[str]:
    return await asyncio.wait_for(
        asyncio.gather(*[_session(url, q, page) for q in queries]), TIME_LIMIT_S)


def test_a_room_of_sessions_each_gets_its_own_workspace(workshop):
    server, root = workshop
    ids = [f"attendee{i:04d}" for i in range(SESSIONS)]
    started = time.monotonic()
    replies = asyncio.run(_room(server.url, [f"ws={i}" for i in ids], "data"))
    elapsed = time.monotonic() - started
    for sid, text in zip(ids, replies):
        assert "exception {" not in text, text[-3000:]
        assert f'code_text: "workshop session {sid}"' in text  # its sidebar, its id
        assert "Active dataset" in text  # the page itself ran
        others = [o for o in ids if o != sid and o in text]
        assert others == [], f"{sid} saw {others}"
        assert str(root) not in text  # never the server's folder
        assert 'options: "sagemaker"' not in text  # the server did not allow it
    made = sorted(p.name for p in (root / "sessions").iterdir())
    assert made == ids
    for sid in ids:
        assert (root / "sessions" / sid / "data" / "raw" / "generated_housing.csv").exists()
    assert elapsed < TIME_LIMIT_S


def test_a_hostile_workspace_id_gets_a_fresh_one_inside_the_sessions_folder(workshop):
    server, root = workshop
    hostile = ["ws=..%2F..%2Fetc", "ws=ATTENDEE0001", "ws=attendee0001%0A", "ws=%00x"]
    before = set((root / "sessions").iterdir()) if (root / "sessions").exists() else set()
    replies = asyncio.run(_room(server.url, hostile, "data"))
    for text in replies:
        assert "exception {" not in text
        assert str(root) not in text
    made = set((root / "sessions").iterdir()) - before
    assert len(made) == len(hostile)  # one fresh, valid id each
    assert all(p.parent == root / "sessions" and p.name.isalnum() for p in made)
    assert sorted(p.name for p in root.iterdir()) == ["sessions"]


def test_one_real_browser_page_in_workshop_mode(workshop):
    if find_chromium() is None:
        pytest.skip("no chromium on this machine (CI installs it with apt: see .ci/run)")
    from playwright.sync_api import sync_playwright

    server, root = workshop
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True,
                                    args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1400})
            page.goto(f"{server.url}/data?ws=browser00001")
            page.get_by_text("workshop session browser00001").first.wait_for(timeout=60_000)
            page.wait_for_selector(DONE_SELECTOR, timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0
            body = page.inner_text("body")
            assert str(root) not in body
            assert "SageMaker" not in page.inner_text('[data-testid="stSidebar"]')
            SHOTS.mkdir(exist_ok=True)
            page.wait_for_timeout(500)
            page.screenshot(path=str(SHOTS / "workshop_session.png"))
        finally:
            browser.close()


def _finished_jobs(workspace: Path, kind: str, count: int) -> list:
    from lab.jobs import JobStore
    from lab.workspace import Workspace

    store, deadline = JobStore(Workspace(workspace)), time.monotonic() + TIME_LIMIT_S
    while time.monotonic() < deadline:
        found = store.list(kind)
        if len(found) >= count and all(j.finished for j in found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{kind}: {[(j.job_id, j.status) for j in store.list(kind)]}")


def test_four_sessions_of_one_workspace_click_ingest_and_train_together(workshop):
    """Four tabs on one workspace (a learner's, or a pair's): every ingest and training
    clicked at once completes, and the stores hold exactly what they ingested."""
    from contextlib import AsyncExitStack

    from lab.featurestore import open_featurestore
    from lab.load import Session
    from lab.settings import Settings
    from lab.training import Experiments
    from lab.workspace import Workspace

    server, root = workshop
    sid = "sharedroom0001"
    workspace = root / "sessions" / sid

    async def together(runs, label):
        return await asyncio.gather(*[s.click(run, label) for s, run in runs])

    async def phase(name: str, work):
        """One step of the room, bounded: a step that hangs says which, and the jobs."""
        try:
            return await asyncio.wait_for(work, TIME_LIMIT_S)
        except TimeoutError:
            from lab.jobs import JobStore

            jobs = [(j.job_id, j.status) for j in JobStore(Workspace(workspace)).list()]
            raise AssertionError(f"{name}: not done in {TIME_LIMIT_S} s; jobs {jobs}") from None

    async def room() -> None:
        async with AsyncExitStack() as stack:
            tabs = [await stack.enter_async_context(Session(server.url, f"ws={sid}",
                                                            timeout_s=TIME_LIMIT_S))
                    for _ in range(4)]
            await phase("prep", tabs[0].click(await tabs[0].open("prep"), "Run in-process"))
            pages = await phase("open the feature store",
                                asyncio.gather(*[t.open("feature_store") for t in tabs]))
            await phase("four ingests", together(list(zip(tabs, pages)),
                                                 "Create groups and ingest"))
            # a thread: the sessions keep reading their sockets meanwhile
            await asyncio.to_thread(_finished_jobs, workspace, "feature-ingest", 4)
            # two tabs train while the other two ingest again, all at the same moment
            trainers = await phase("open training",
                                   asyncio.gather(*[t.open("training") for t in tabs[:2]]))
            ingesters = await phase("open the feature store again", asyncio.gather(
                *[t.open("feature_store") for t in tabs[2:]]))
            await phase("two trainings and two ingests", asyncio.gather(
                together(list(zip(tabs[:2], trainers)), "Train"),
                together(list(zip(tabs[2:], ingesters)), "Create groups and ingest")))

    asyncio.run(room())
    ingests = _finished_jobs(workspace, "feature-ingest", 6)
    trainings = _finished_jobs(workspace, "training", 2)
    assert [(j.status, j.error) for j in ingests + trainings] == [("Completed", None)] * 8
    store = open_featurestore(Settings(workspace=workspace))
    rows = {"lab-train": 6000, "lab-validation": 2000, "lab-test": 2000}
    groups = {g.name: g for g in store.list_groups()}
    assert sorted(groups) == sorted(rows)  # each created once, then reused
    for name, count in rows.items():
        assert groups[name].online_rows == count  # the newest version of each record
        assert groups[name].offline_rows == 6 * count  # every ingest, whole
    runs = Experiments(Workspace(workspace)).list()
    assert sorted(r.status for r in runs) == ["Completed", "Completed"]
    for job in trainings:  # each read whole splits, never a half-done ingest
        assert job.result["rows"] == {"train": 6000, "validation": 2000, "test": 2000}


def test_the_load_command_drives_a_small_room_and_reports_every_action(workshop):
    """`python -m lab load` against the running server: two attendees walk the lab (pages,
    preparation, ingest, training) with no error, and the report has p50/p95 per action,
    the health check's times and the server's memory and threads."""
    import json

    from lab.load import ACTIONS
    from tests.cli import run_cli

    server, root = workshop
    result = run_cli("load", "--attendees", "2", "--url", server.url, "--pause", "0",
                     "--settle", "0", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["errors"] == [] and report["error_count"] == 0
    assert (report["attendees"], report["mode"]) == (2, "paced")
    assert sorted(report["actions"]) == sorted(ACTIONS)
    for action, figures in report["actions"].items():
        assert figures["count"] >= 2, action  # each attendee did each action
        assert 0 < figures["p50"] <= figures["p95"] <= figures["max"], (action, figures)
    assert report["actions"]["open page"]["count"] >= 2 * 6  # the walk's six pages
    assert report["health"]["count"] > 0 and report["health"]["failures"] == 0
    assert report["server"]["pid"] == server.process.pid  # found by its listening port
    assert report["server"]["peak_rss_mb"] > 0 and report["server"]["peak_threads"] > 0
    for reading in ("at_start", "at_end", "after_close"):  # memory before, during, after
        assert report["server"][reading]["rss_mb"] > 0, reading
    assert report["server"]["cpu_s"] > 0 and report["server"]["cores_used"] > 0
    assert len(report["load_average"]) == 3
    sessions = {p.name for p in (root / "sessions").iterdir()}
    walked = {s for s in sessions if s.startswith("load")}
    assert len(walked) == 2  # each attendee had a workspace of its own
    for sid in walked:
        assert (root / "sessions" / sid / "experiments.db").exists()


def test_a_job_panel_polls_until_the_job_ends_and_its_page_stays(workshop):
    """The load client follows a job as the browser does: the panel's poll stays
    registered while the job runs, and when the job ends the rerun the panel asks for
    shows the same page with the job Completed (not the app's default page)."""
    from lab.load import Session
    from lab.load._attendee import _jobs_shown

    server, _ = workshop

    async def follow() -> tuple[list[str], str]:
        async with Session(server.url, "ws=pollfollow0001", timeout_s=TIME_LIMIT_S) as tab:
            await tab.click(await tab.open("prep"), "Run in-process")
            seen = []
            for page, label, kind in (("feature_store", "Create groups and ingest",
                                       "feature-ingest"), ("training", "Train", "training")):
                run = await tab.click(await tab.open(page), label)
                shown = _jobs_shown(run, kind)
                assert len(shown) == 1, (kind, shown, run.text()[-800:])
                status = shown[0][1]
                while status == "InProgress":
                    run = await tab.poll()
                    assert run is not None, f"the {kind} panel stopped polling a running job"
                    status = dict(_jobs_shown(run, kind)).get(shown[0][0], status)
                seen.append(status)
                assert run.texts[0] != "MLOps Lab", f"the job's end reran Home: {run.text()[:300]}"
            return seen, run.text()

    statuses, training_page = asyncio.run(asyncio.wait_for(follow(), TIME_LIMIT_S))
    assert statuses == ["Completed", "Completed"]
    assert "Train a model" in training_page


def _cached_bytes(url: str, cache: str) -> int:
    """What Streamlit's metrics endpoint says a page cache holds (0 when it lists none)."""
    import urllib.request

    with urllib.request.urlopen(f"{url}/_stcore/metrics", timeout=10) as reply:
        lines = reply.read().decode().splitlines()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in lines
               if line.startswith("cache_memory_bytes{") and f'cache="__main__.{cache}"' in line)


def test_a_room_that_left_gives_its_workers_and_caches_back(tmp_path):
    """When every session has closed and its reconnect window (one second here) ended, the
    server stops its idle worker processes and empties the pages' caches; the next
    attendee finds the lab working, its workers started again."""
    from lab.load import Session
    from lab.load._watch import descendants
    from tests.workspaces import wait_until

    env = {"LAB_WORKSHOP": "1", "LAB_BACKEND": "local", "LAB_WORKSHOP_BACKENDS": "",
           "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL": "1"}

    async def attendee(sid: str, wait_for_workers: bool) -> str:
        async with Session(server.url, f"ws={sid}", timeout_s=TIME_LIMIT_S) as tab:
            text = (await tab.open("data")).text()
            while wait_for_workers and len(descendants(pid)) < 2:  # the warm-up's workers
                await asyncio.sleep(0.1)
            return text

    async def room() -> list[str]:
        return await asyncio.wait_for(asyncio.gather(
            attendee("roomleft0001", True), attendee("roomleft0002", False)), TIME_LIMIT_S)

    with running_app(workspace=tmp_path, env=env) as server:
        pid = server.process.pid
        for text in asyncio.run(room()):
            assert "exception {" not in text and "Active dataset" in text
        assert _cached_bytes(server.url, "dataset_frame") > 0
        # the sessions closed with their websockets; their window ends, and the room with it
        assert wait_until(lambda: not descendants(pid)
                          and _cached_bytes(server.url, "dataset_frame") == 0, 30, 0.1), \
            (descendants(pid), _cached_bytes(server.url, "dataset_frame"))
        [text] = asyncio.run(_room(server.url, ["ws=roomleft0003"], "data"))
        assert "exception {" not in text and "Active dataset" in text
        assert wait_until(lambda: len(descendants(pid)) > 0, 30, 0.1), \
            "the workers did not start again"
