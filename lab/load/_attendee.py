"""What one attendee does: the lab's first steps through its pages, as a learner clicks.

A walk opens Home and the Data page, prepares the data in-process, creates the feature
groups and ingests, trains a model, and reruns a page here and there (what changing any
widget costs). Each action is timed from the message sent to the script finished; a job
(ingest, training) from the click to the job panel showing it Completed, polling as the
browser does. Paced attendees wait a few seconds between actions, as people read; a
burst has everyone act at once with no pause.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable

from lab.load._protocol import PageRun, ScriptError, Session

OPEN, RERUN = "open page", "rerun page"
PREP, INGEST, TRAIN = "prep in-process", "ingest click-to-done", "train click-to-done"
ACTIONS = (OPEN, RERUN, PREP, INGEST, TRAIN)
_JOB_LINE = re.compile(r"\*\*(?P<id>[a-z-]+-\d{8}-\d{6}-[0-9a-f]{6})\*\*: (?P<status>\w+) \(")
JOB_TIMEOUT_S = 300.0

Record = Callable[[str, float], None]
Fail = Callable[[str, str], None]


class Attendee:
    def __init__(self, url: str, session_id: str, record: Record, fail: Fail, *,
                 pause_s: float, seed: int, deadline: float) -> None:
        self.url, self.session_id = url, session_id
        self.record, self.fail = record, fail
        self.pause_s, self.deadline = pause_s, deadline
        self.random = random.Random(seed)
        self.session: Session | None = None

    async def run(self, rounds_until: float | None) -> None:
        """The walk, then more rounds until `rounds_until` (monotonic), if given."""
        from websockets.exceptions import WebSocketException

        try:  # a refused connection, or one the server dropped, is this attendee's error
            async with Session(self.url, f"ws={self.session_id}") as session:
                self.session = session
                await self.first_walk()
                while rounds_until is not None and time.monotonic() < rounds_until:
                    await self.another_round()
        except (ScriptError, TimeoutError, OSError, WebSocketException) as exc:
            self.fail(self.session_id, f"{type(exc).__name__}: {exc}")

    async def first_walk(self) -> None:
        await self.open("")
        data = await self.open("data")
        await self.rerun(data)
        prep = await self.open("prep")
        await self.pause()
        self.timed(PREP, await self.session.click(prep, "Run in-process"))
        fs = await self.open("feature_store")
        await self.job(fs, "Create groups and ingest", INGEST, "feature-ingest")
        training = await self.open("training")
        await self.job(training, "Train", TRAIN, "training")
        await self.rerun(training)
        await self.open("")

    async def another_round(self) -> None:
        await self.rerun(await self.open("data"))
        await self.open("stage_initial")
        fs = await self.open("feature_store")
        await self.job(fs, "Create groups and ingest", INGEST, "feature-ingest")
        training = await self.open("training")
        await self.job(training, "Train", TRAIN, "training")
        await self.rerun(training)
        await self.open("")

    async def open(self, page: str) -> PageRun:
        await self.pause()
        return self.timed(OPEN, await self.session.open(page))

    async def rerun(self, _: PageRun) -> PageRun:
        await self.pause()
        return self.timed(RERUN, await self.session.rerun())

    async def job(self, page: PageRun, label: str, action: str, kind: str) -> None:
        """Click, then poll the job panel until the job of `kind` has ended."""
        await self.pause()
        started = time.perf_counter()
        run = await self.session.click(page, label)
        clicked = _jobs_shown(run, kind)
        if not clicked:
            raise ScriptError(f"{label!r} showed no {kind} job: {run.text()[-400:]}")
        job_id, status = clicked[-1]
        limit = time.monotonic() + JOB_TIMEOUT_S
        while status == "InProgress":
            if time.monotonic() > min(limit, self.deadline):
                raise ScriptError(f"{job_id} still running after {JOB_TIMEOUT_S:.0f} s")
            run = await self.session.poll() or await self._later()
            status = dict(_jobs_shown(run, kind)).get(job_id, status)
        seconds = time.perf_counter() - started
        if status != "Completed":
            raise ScriptError(f"{job_id} {status}: {run.text()[-600:]}")
        self.record(action, seconds)

    async def _later(self) -> PageRun:
        await asyncio.sleep(1.0)  # no poll registered: look again as a reload would
        return await self.session.rerun()

    def timed(self, action: str, run: PageRun) -> PageRun:
        self.record(action, run.seconds)
        return run

    async def pause(self) -> None:
        if self.pause_s > 0:
            await asyncio.sleep(self.random.uniform(0.5, 1.5) * self.pause_s)


def _jobs_shown(run: PageRun, kind: str) -> list[tuple[str, str]]:
    found = []
    for text in run.texts:
        for match in _JOB_LINE.finditer(text):
            if match["id"].startswith(kind + "-"):
                found.append((match["id"], match["status"]))
    return found
