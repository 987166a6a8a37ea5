"""Start the app with `streamlit run` on a free loopback port, for browser tests and bench.

It runs the app as a user would, in a subprocess, and finds the system chromium for
playwright (whose own browser download does not work offline).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path


@contextlib.contextmanager
def running_app(app: str = "streamlit_app.py", workspace: Path | None = None,
                env: dict[str, str] | None = None, timeout: float = 60) -> Iterator[Server]:
    """`streamlit run` on 127.0.0.1:<free port>; stopped (by PID) on exit."""
    port = free_port()
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lab-streamlit-{port}.log"
    child_env = {**os.environ, **(env or {})}
    if workspace is not None:
        child_env["LAB_WORKSPACE"] = str(workspace)
    cmd = [sys.executable, "-m", "streamlit", "run", app, "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=child_env, stdout=log,
                                stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, timeout, log_path)
        yield Server(url, proc, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)  # a fine step: the bench times the start to the first answer
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s")


DONE_SELECTOR = '[data-testid="stApp"][data-test-script-state="notRunning"]'
