"""The bench's figures of the app itself (lab/benchapp.py), each on real servers: a page's
rerun beside the same reruns with the pages' caches off, the app's peak memory with a room
of attendees, and Home's first render in chromium with its parts. Their report's keys are
checked on the fewest runs; no time is asserted (the figures are the bench's to report)."""

from __future__ import annotations

import json

import pytest

import lab.bench
import lab.benchapp
from lab.benchapp import (
    HOME_PARTS,
    PAGE_RERUN,
    PAGES,
    ROOM_ONE,
    ROOM_THIRTY,
    SERVER_PART,
    WORKERS_PART,
)
from lab.devserver import find_chromium
from tests.cli import run_cli

FIELDS = {"name", "unit", "median", "p99", "runs", "budget"}

pytestmark = pytest.mark.browser


def bench(tmp_path, only: str, *args: str) -> list[dict]:
    pytest.importorskip("websockets", reason="websockets is in requirements-test.txt")
    proc = run_cli("bench", "--only", only, "--quick", "--json", *args, ws=tmp_path / "ws")
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)["figures"]
    assert not [f for f in figures if f.get("skipped")], figures
    return figures


def test_a_page_rerun_is_reported_per_page_beside_the_same_reruns_uncached(tmp_path):
    [figure] = bench(tmp_path, "page rerun", "--runs", "1")
    titles = [title for _, title in PAGES]
    assert figure["name"] == PAGE_RERUN and figure["budget"] == 0.1
    assert FIELDS | {"reference", "speedup", "reference_what", "slowest", "groups",
                     "reference_groups", "detail"} <= set(figure)
    assert list(figure["groups"]) == titles == list(figure["reference_groups"])
    assert figure["runs"] == figure["reference_runs"] == len(titles)  # one rerun per page
    # the figure is the slowest page's median, its p99 over every page's reruns
    assert figure["median"] == figure["groups"][figure["slowest"]] == max(
        figure["groups"].values()) <= figure["p99"]
    assert figure["reference"] == max(figure["reference_groups"].values())
    assert "LAB_PAGE_CACHE=off" in figure["reference_what"]


def test_the_apps_memory_is_reported_with_one_attendee_and_a_room(tmp_path, monkeypatch):
    # thirty attendees paced take a minute: the same figures with a room of two, no pause
    monkeypatch.setattr(lab.benchapp, "ROOMS", ((ROOM_ONE, 1), (ROOM_THIRTY, 2)))
    monkeypatch.setitem(lab.bench.ROOM_PAUSE_S, True, 0.0)
    figures = bench(tmp_path, "app memory")
    assert [f["name"] for f in figures] == [
        f"{room}: {part}" for room in (ROOM_ONE, ROOM_THIRTY)
        for part in (SERVER_PART, WORKERS_PART)]
    for figure in figures:
        assert FIELDS | {"detail", "errors"} <= set(figure)
        assert figure["unit"] == "MB" and figure["runs"] == 1 and figure["errors"] == 0
        assert figure["median"] > 0  # a server and its workers hold memory
    assert "2 attendee(s)" in figures[-1]["detail"] and "0 s between" in figures[-1]["detail"]


def test_homes_first_render_is_reported_with_its_parts(tmp_path):
    if find_chromium() is None:
        pytest.skip("no chromium on this machine (CI installs it with apt: see .ci/run)")
    figures = bench(tmp_path, "Home", "--runs", "1")
    by_name = {f["name"]: f for f in figures}
    whole = by_name.pop("Home page first render after server start (chromium)")
    assert whole["budget"] == 1.0 and whole["runs"] == 1
    assert set(by_name) == set(HOME_PARTS.values())
    first_run = by_name[HOME_PARTS["first_run_s"]]["median"]
    browser = by_name[HOME_PARTS["browser_s"]]
    assert 0 < first_run < whole["median"] and browser["median"] > 0
    assert browser["median"] == pytest.approx(whole["median"] - first_run, abs=2e-6)
    assert "before the script run" in browser["detail"]
    assert by_name[HOME_PARTS["server_start_s"]]["median"] > 0
