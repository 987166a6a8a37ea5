"""`run_load`: a room of attendees against one workshop server, and what it went through."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lab.errors import InputError
from lab.load._attendee import ACTIONS, Attendee
from lab.load._watch import Watch, listening_pid

MAX_ATTENDEES = 100
MAX_MINUTES = 60.0
WALK_LIMIT_S = 600.0  # one walk of the whole room, at most, before the run is stopped
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# The server `run_load` starts: workshop mode, the local backend and no other offered
WORKSHOP_SERVER = {"LAB_WORKSHOP": "1", "LAB_BACKEND": "local", "LAB_WORKSHOP_BACKENDS": ""}


def check_request(attendees: int, minutes: float, url: str | None, pause_s: float,
                  settle_s: float = 5.0) -> None:
    if not 1 <= attendees <= MAX_ATTENDEES:
        raise InputError(f"--attendees takes 1 to {MAX_ATTENDEES} attendees.")
    if not 0 <= minutes <= MAX_MINUTES:
        raise InputError(f"--minutes takes 0 to {MAX_MINUTES:.0f} minutes.")
    if not 0 <= pause_s <= 60:
        raise InputError("--pause takes 0 to 60 seconds.")
    if not 0 <= settle_s <= 600:
        raise InputError("--settle takes 0 to 600 seconds.")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname not in LOOPBACK or not parts.port:
            raise InputError("--url must be a server on this machine, such as "
                             "http://127.0.0.1:8501: the load test never leaves loopback.")


def run_load(attendees: int, *, burst: bool = False, minutes: float = 0.0,
             url: str | None = None, pause_s: float = 3.0, settle_s: float = 5.0,
             log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Drive `attendees` websocket sessions through the lab on a workshop server: ours,
    started on a free loopback port with a fresh folder, or the one at `url`.

    Paced attendees start over a few seconds and pause about `pause_s` between actions;
    a `burst` starts everyone at once, with no pause. With `minutes`, attendees go on with
    further rounds (pages, ingest, training) until that time is up: a soak. The report has
    p50/p95/max per action, every error, the health check's worst time, and the server's
    peak memory and threads (and after the sessions closed).
    """
    check_request(attendees, minutes, url, pause_s, settle_s)
    pause = 0.0 if burst else pause_s
    if url is not None:
        _check_answers(url)
        pid = listening_pid(urlsplit(url).port)
        return _drive(url.rstrip("/"), pid, attendees, burst, minutes, pause, settle_s, log)
    from lab.devserver import running_app

    with tempfile.TemporaryDirectory(prefix="lab-load-") as folder, running_app(
            workspace=Path(folder), env=WORKSHOP_SERVER) as server:
        log(f"server {server.url} (pid {server.process.pid}), workspace {folder}")
        report = _drive(server.url, server.process.pid, attendees, burst, minutes, pause,
                        settle_s, log)
        report["server"]["started_by_load"] = True
        return report


def _check_answers(url: str) -> None:
    """A server of ours is at `url` (its health check answers), or a clear message."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/_stcore/health", timeout=10) as reply:
            reply.read()
    except OSError as exc:
        raise InputError(f"No lab server answers at {url} ({getattr(exc, 'reason', exc)}): "
                         "start it first (`streamlit run streamlit_app.py` with "
                         "LAB_WORKSHOP=1), or leave out --url and the load test starts "
                         "one.") from None


def _drive(url: str, pid: int | None, attendees: int, burst: bool, minutes: float,
           pause: float, settle_s: float, log: Callable[[str], None]) -> dict[str, Any]:
    samples: dict[str, list[float]] = defaultdict(list)
    errors: list[dict[str, str]] = []

    def record(action: str, seconds: float) -> None:
        samples[action].append(seconds)

    def fail(session_id: str, message: str) -> None:
        errors.append({"attendee": session_id, "error": message})
        log(f"{session_id}: {message}")

    tag = f"{int(time.time()) % 100000:05d}"
    load_at_start = [round(x, 2) for x in os.getloadavg()]  # what else the machine runs
    started = time.monotonic()
    rounds_until = started + minutes * 60 if minutes else None
    deadline = started + minutes * 60 + WALK_LIMIT_S
    ramp = 0.0 if burst else min(20.0, 0.5 * attendees)
    room = [Attendee(url, f"load{tag}{i:04d}", record, fail, pause_s=pause, seed=i,
                     deadline=deadline) for i in range(attendees)]

    async def one(i: int, attendee: Attendee) -> None:
        await asyncio.sleep(ramp * i / max(1, attendees))
        await attendee.run(rounds_until)

    async def everyone() -> None:
        tasks = [asyncio.create_task(one(i, a)) for i, a in enumerate(room)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), deadline - time.monotonic())
        except TimeoutError:
            errors.append({"attendee": "*", "error": "the run passed its time limit"})

    with Watch(url, pid) as watch:
        before = watch.now()  # the server as the room found it
        cpu_before, own_before = watch.cpu_s(), watch.own_cpu_s()
        log(f"{attendees} attendee(s), {'burst' if burst else 'paced'}"
            + (f", {minutes:g} min" if minutes else ""))
        asyncio.run(everyone())
        elapsed = time.monotonic() - started
        cpu = None if cpu_before is None else watch.cpu_s() - cpu_before
        own = None if own_before is None else watch.own_cpu_s() - own_before
        during = watch.now()
        time.sleep(settle_s)  # the sessions are closed: what the server keeps
        after = watch.now()
    import resource

    client = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "attendees": attendees, "mode": "burst" if burst else "paced",
        "minutes": minutes, "pause_s": pause, "seconds": round(elapsed, 1),
        # the clients' own CPU: on the server's machine, it competes with the server
        "client_cpu_s": round(client.ru_utime + client.ru_stime, 1),
        "load_average_at_start": load_at_start,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "actions": {a: _summary(samples[a]) for a in ACTIONS if samples.get(a)},
        "errors": errors, "error_count": len(errors),
        "health": {**_summary(watch.health_s), "failures": watch.health_failures},
        "server": {"url": url, "pid": pid, "peak_rss_mb": watch.peak_rss_mb or None,
                   "peak_threads": watch.peak_threads or None,
                   "peak_children_rss_mb": watch.peak_children_rss_mb or None,
                   # CPU the server's processes used during the run, and in cores on
                   # average: what the room demands, whatever else the machine runs
                   "cpu_s": None if cpu is None else round(cpu, 1),
                   "cores_used": None if cpu is None else round(cpu / elapsed, 2),
                   "own_cpu_s": None if own is None else round(own, 1),
                   "at_start": before, "at_end": during, "after_close": after,
                   "settle_s": settle_s,
                   # memory over time: a soak's, and while the closed sessions settle
                   "timeline": watch.timeline if minutes or settle_s >= 30 else []},
    }


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 3)

    return {"count": len(values), "p50": round(statistics.median(values), 3),
            "p95": at(0.95), "max": round(ordered[-1], 3)}


def format_report(report: dict[str, Any]) -> str:
    """The report as a few lines of text (without --json)."""
    lines = [f"{report['attendees']} attendees, {report['mode']}, {report['seconds']} s; "
             f"errors: {report['error_count']}"]
    for action, s in report["actions"].items():
        lines.append(f"  {action:<22} p50 {s['p50']:>7.3f} s  p95 {s['p95']:>7.3f} s  "
                     f"max {s['max']:>7.3f} s  ({s['count']})")
    health, server = report["health"], report["server"]
    if health.get("count"):
        lines.append(f"  health check           p50 {health['p50']:>7.3f} s  "
                     f"max {health['max']:>7.3f} s")
    lines.append(f"  server: peak {server['peak_rss_mb']} MB, {server['peak_threads']} threads "
                 f"(children peak {server['peak_children_rss_mb']} MB); CPU "
                 f"{server.get('cpu_s')} s ({server.get('own_cpu_s')} s the server itself), "
                 f"{server.get('cores_used')} cores on average; "
                 f"load average {report['load_average']}")
    for error in report["errors"][:10]:
        lines.append(f"  error {error['attendee']}: {error['error']}")
    return "\n".join(lines)
