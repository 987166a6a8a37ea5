"""One attendee's browser tab, as Streamlit's front end speaks to the server.

A session is one websocket to `/_stcore/stream`: the client sends `BackMsg`s (rerun the
script for a page, with the widgets' states; a button click is a widget state whose
trigger is set) and reads `ForwardMsg`s until `script_finished`. Like the front end it
keeps what it needs of the page: the buttons it can click (their widget ids), the text it
shows, and the fragments that asked to be rerun every so often (a job panel's poll),
which it reruns as the browser would while it waits for a job.

Only what a load test needs is read: nothing is rendered, and no message is kept.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field


class ScriptError(Exception):
    """The page raised an exception, or the script did not finish in time."""


@dataclass
class PageRun:
    """What one script run (or fragment run) sent."""

    seconds: float
    texts: list[str] = field(default_factory=list)
    buttons: dict[str, str] = field(default_factory=dict)  # label -> widget id
    exceptions: list[str] = field(default_factory=list)
    fragment: bool = False

    def text(self) -> str:
        return "\n".join(self.texts)


_TEXT_FIELDS = {"markdown": "body", "alert": "body", "heading": "body", "code": "code_text",
                "text": "body", "progress": "text", "metric": "label"}


class Session:
    """A websocket session; use `async with Session(url, query) as s`."""

    def __init__(self, url: str, query: str = "", timeout_s: float = 120.0) -> None:
        self.url = url.replace("http://", "ws://").rstrip("/") + "/_stcore/stream"
        self.query = query
        self.timeout_s = timeout_s
        self.page = ""
        self.page_hash = ""  # the page's script hash, once the server has named it
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s)
        self.received_bytes = 0
        self._ws = None

    async def __aenter__(self) -> Session:
        import websockets

        self._ws = await websockets.connect(self.url, subprotocols=["streamlit"],
                                            max_size=None, open_timeout=self.timeout_s,
                                            ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def open(self, page: str) -> PageRun:
        """Navigate to `page` (its URL path: "data", "prep"; "" for Home)."""
        self.page, self.page_hash = page, ""
        return await self._run()

    async def rerun(self) -> PageRun:
        """Rerun the current page with nothing changed (what any widget change costs)."""
        return await self._run()

    async def click(self, run: PageRun, label: str) -> PageRun:
        """Click the button labelled `label` on the page `run` showed."""
        widget = run.buttons.get(label)
        if widget is None:
            raise ScriptError(f"no button {label!r} on the page {self.page!r}; it shows "
                              f"{sorted(run.buttons)}")
        return await self._run(trigger=widget)

    async def poll(self) -> PageRun | None:
        """Rerun the fragments that asked for it, as the browser does on its timer; None
        when none did. Waits their interval first."""
        if not self.auto_reruns:
            return None
        fragment, interval = next(iter(self.auto_reruns.items()))
        await asyncio.sleep(interval)
        return await self._run(fragment=fragment)

    async def _run(self, trigger: str | None = None, fragment: str | None = None) -> PageRun:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        request = BackMsg()
        state = request.rerun_script
        state.query_string = self.query
        state.page_name = self.page
        # As the browser does: once the server has named the page's hash, every rerun of
        # it sends that hash. Without it, a rerun the page itself asks for (a job panel's
        # st.rerun when the job ends) runs the app's default page, Home.
        state.page_script_hash = self.page_hash
        if trigger:
            widget = state.widget_states.widgets.add()
            widget.id, widget.trigger_value = trigger, True
        if fragment:
            state.fragment_id, state.is_auto_rerun = fragment, True
        started = time.perf_counter()
        await self._ws.send(request.SerializeToString())
        run = await asyncio.wait_for(self._read_run(), self.timeout_s)
        run.seconds, run.fragment = time.perf_counter() - started, bool(fragment)
        if run.exceptions:
            raise ScriptError(f"the page {self.page!r} raised: {run.exceptions[0]}")
        return run

    async def _read_run(self) -> PageRun:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        run = PageRun(0.0)
        while True:
            data = await self._ws.recv()
            self.received_bytes += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            kind = msg.WhichOneof("type")
            if kind == "delta":
                _read_delta(msg.delta, run)
            elif kind == "new_session" and not msg.metadata.run.fragment_ids:
                self.auto_reruns.clear()  # a full run registers the polls still wanted
            elif kind == "navigation":
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "auto_rerun":
                self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fragment in msg.stop_auto_rerun.fragment_ids:
                    self.auto_reruns.pop(fragment, None)
            elif kind == "script_finished":
                status = msg.script_finished
                if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    continue  # interrupted by a rerun the page asked for: read that one
                return run


def _read_delta(delta, run: PageRun) -> None:
    if delta.WhichOneof("type") != "new_element":
        return
    element = delta.new_element
    kind = element.WhichOneof("type")
    if kind == "button":
        run.buttons[element.button.label] = element.button.id
    elif kind == "exception":
        run.exceptions.append(f"{element.exception.type}: {element.exception.message}")
    elif kind in _TEXT_FIELDS:
        run.texts.append(getattr(getattr(element, kind), _TEXT_FIELDS[kind]))
