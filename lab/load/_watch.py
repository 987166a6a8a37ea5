"""What the server goes through during a load run: its memory and threads (read from
/proc, its own and its child processes'), and how long its health check takes."""

from __future__ import annotations

import http.client
import os
import threading
import time
import urllib.request
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def status(pid: int) -> dict[str, int] | None:
    """{"rss_mb", "threads"} of a process; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    if "VmRSS" not in fields:  # a zombie (a child that has just ended): nothing to count
        return None
    return {"rss_mb": int(fields["VmRSS"].split()[0]) // 1024,
            "threads": int(fields["Threads"])}


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_s(pid: int, reaped: bool = True) -> float:
    """CPU seconds used by a process (and the children it has reaped, unless `reaped` is
    false); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return sum(int(x) for x in fields[11:15 if reaped else 13]) / _TICKS  # utime stime


def descendants(pid: int) -> list[int]:
    """The processes `pid` started, and theirs (SQL workers, the training worker's runs)."""
    children = []
    try:  # each thread's children: the SQL workers are started by a thread of their own
        for task in Path(f"/proc/{pid}/task").iterdir():
            children += (task / "children").read_text().split()
    except OSError:
        pass
    out = []
    for child in map(int, children):
        out += [child, *descendants(child)]
    return out


def listening_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1:`port` (Linux), to watch a server we did not
    start; None if it cannot be told (another user's process, say)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(parts[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in {f"socket:[{i}]" for i in inodes}:
                    return int(proc.name)
        except OSError:
            continue
    return None


class Watch:
    """Samples the server every `every_s` in a thread: peaks, and a timeline (one point
    per `timeline_s`) for long runs."""

    def __init__(self, url: str, pid: int | None, every_s: float = 0.5,
                 timeline_s: float = 10.0) -> None:
        self.url, self.pid = url, pid
        self.every_s, self.timeline_s = every_s, timeline_s
        self.peak_rss_mb = self.peak_children_rss_mb = self.peak_threads = 0
        self.health_s: list[float] = []
        self.health_failures = 0
        self.timeline: list[dict] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._sample, daemon=True),
                         threading.Thread(target=self._health, daemon=True)]
        self._started = time.monotonic()

    def __enter__(self) -> Watch:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)

    def now(self) -> dict | None:
        if self.pid is None:
            return None
        own = status(self.pid)
        if own is None:
            return None
        children = [s for s in map(status, descendants(self.pid)) if s]
        return {**own, "children_rss_mb": sum(s["rss_mb"] for s in children),
                "children": len(children)}

    def cpu_s(self) -> float | None:
        """CPU seconds the server and its processes have used so far (the live ones, and
        those ended: a parent counts its reaped children). Unlike times, it does not
        depend on what else the machine runs: what the room asks of the cores."""
        if self.pid is None:
            return None
        return sum(map(cpu_s, [self.pid, *descendants(self.pid)]))

    def own_cpu_s(self) -> float | None:
        """CPU seconds of the server's process alone: the one that runs every session's
        script (under one GIL, so about one core at most)."""
        return None if self.pid is None else cpu_s(self.pid, reaped=False)

    def _sample(self) -> None:
        next_point = 0.0
        while not self._stop.is_set():
            found = self.now()
            if found:
                self.peak_rss_mb = max(self.peak_rss_mb, found["rss_mb"])
                self.peak_threads = max(self.peak_threads, found["threads"])
                self.peak_children_rss_mb = max(self.peak_children_rss_mb,
                                                found["children_rss_mb"])
                elapsed = time.monotonic() - self._started
                if elapsed >= next_point:
                    self.timeline.append({"t_s": round(elapsed), **found})
                    next_point += self.timeline_s
            self._stop.wait(self.every_s)

    def _health(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=30) as reply:
                    reply.read()
                self.health_s.append(time.perf_counter() - started)
            except (OSError, http.client.HTTPException):
                self.health_failures += 1
                self.health_s.append(time.perf_counter() - started)
            self._stop.wait(self.every_s)
