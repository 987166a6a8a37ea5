"""One runtime server per workspace and process: started on demand, found by other processes.

The app starts its server in the background the first time an endpoint needs serving
(`ensure_server`, thread-safe: many Streamlit sessions call it at once); `python -m lab
serve` runs one in the foreground (`serve_forever`). Each running server writes
`<workspace>/serving/servers/<pid>-<port>.json`, so a CLI command in another process can
use a server the app already runs instead of starting its own.

A server tries the port this workspace used last (kept in `serving/port`), so a URL
printed before a restart keeps working; if another program holds it, any free port does.
A background server stops when its workspace's last endpoint is deleted, which frees the
port; the foreground one runs until it is interrupted.
"""

from __future__ import annotations

import errno
import http.client
import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from lab.serving._errors import ServerError
from lab.serving._server import RuntimeServer
from lab.workspace import Workspace

_servers: dict[Path, RuntimeServer] = {}
_lock = threading.Lock()


def _serving_dir(settings: Any) -> Path:
    return Workspace(settings.workspace).path("serving")


def _root(settings: Any) -> Path:
    return Workspace(settings.workspace).root


def running_server(settings: Any) -> RuntimeServer | None:
    """This process's server for the workspace, if it runs."""
    server = _servers.get(_root(settings))
    return server if server is not None and server.running else None


def ensure_server(settings: Any, log: Callable[[str], None] | None = None) -> RuntimeServer:
    """This process's server for the workspace, started (in the background) if needed."""
    with _lock:
        server = running_server(settings)
        if server is None:
            server = _start(settings, None, log).start()
            _servers[_root(settings)] = server
            _announce(settings, server, foreground=False)
        return server


def stop_server(settings: Any) -> bool:
    """Stop this process's server for the workspace; True if one was running."""
    with _lock:
        server = _servers.pop(_root(settings), None)
        if server is None or not server.running:
            return False
        server.stop()
        _forget(settings, server)
        return True


def server_url(settings: Any) -> str | None:
    """The URL where the workspace's endpoints answer: this process's server, else a live
    server of another lab process (the app, `python -m lab serve`); None if none runs."""
    own = running_server(settings)
    if own is not None:
        return own.url
    for info in _announced(settings):
        if info.get("pid") != os.getpid() and _answers(info.get("url", "")):
            return info["url"]
    return None


def other_servers(settings: Any) -> bool:
    """True when another lab process serves the workspace too (a change of the endpoint
    records reaches it within its re-read interval, not at once)."""
    return any(info.get("pid") != os.getpid() for info in _announced(settings))


def serve_forever(settings: Any, port: int | None = None,
                  log: Callable[[str], None] = print) -> None:
    """`python -m lab serve`: serve the workspace's endpoints until Ctrl-C (or SIGTERM)."""
    with _lock:
        if running_server(settings) is not None:
            raise ServerError("This process already serves that workspace.")
        server = _start(settings, port, log)
        _servers[_root(settings)] = server
        _announce(settings, server, foreground=True)
    loaded = server.models.warm()
    log(f"Serving {len(loaded)} endpoint(s) of {_root(settings)} at {server.url}")
    for name in loaded:
        log(f"  {server.url}/endpoints/{name}/invocations")
    log("Feature Store runtime at the same URL. Press Ctrl-C to stop.")
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        log("Stopping.")
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        stop_server(settings)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # SIGTERM stops `serve` as cleanly as Ctrl-C


def _start(settings: Any, port: int | None, log) -> RuntimeServer:
    preferred = port if port is not None else _last_port(settings)
    try:
        server = RuntimeServer(settings, preferred or 0, log)
    except OSError as exc:
        if port is not None:  # asked for explicitly: say so rather than pick another
            reason = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc})"
            raise ServerError(f"Port {port} {reason}: pick another with --port, or leave it "
                              "out to use a free one.") from None
        server = RuntimeServer(settings, 0, log)
    (_serving_dir(settings)).mkdir(parents=True, exist_ok=True)
    (_serving_dir(settings) / "port").write_text(str(server.port))
    return server


def _last_port(settings: Any) -> int | None:
    try:
        port = int((_serving_dir(settings) / "port").read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return port if 1024 <= port <= 65535 else None


def _info_path(settings: Any, server: RuntimeServer) -> Path:
    return _serving_dir(settings) / "servers" / f"{os.getpid()}-{server.port}.json"


def _announce(settings: Any, server: RuntimeServer, foreground: bool) -> None:
    path = _info_path(settings, server)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": os.getpid(), "port": server.port, "url": server.url,
                                "foreground": foreground}))


def _forget(settings: Any, server: RuntimeServer) -> None:
    _info_path(settings, server).unlink(missing_ok=True)


def _announced(settings: Any) -> list[dict[str, Any]]:
    folder = _serving_dir(settings) / "servers"
    found = []
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if _alive(info.get("pid", -1)):
            found.append(info)
        else:
            path.unlink(missing_ok=True)  # left by a process that died
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0
    return True


def _answers(url: str) -> bool:
    """True when a lab runtime answers at `url` (the pid may belong to another program).
    http.client, not urllib: a proxy set in the environment must not see local calls."""
    parsed = urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=0.5)
    try:
        conn.request("GET", "/ping")
        reply = conn.getresponse()
        return reply.status == 200 and b"Healthy" in reply.read()
    except (OSError, ValueError, http.client.HTTPException):
        return False
    finally:
        conn.close()
