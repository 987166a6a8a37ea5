"""The Scalable stage's pages through AppTest, acting as a learner.

What these add to test_pages.py (which renders every page): the stage page leads to its
steps; on the sharded processing page a click starts a job on N local instances and its
result shows each instance; on the teams page a learner makes teams and a project, and an
action a team may not do is refused at once, with why, and changes nothing.
"""

from __future__ import annotations

import time

from streamlit.testing.v1 import AppTest

from lab import teams
from lab.jobs import JobStore
from lab.registry import PENDING, open_registry
from lab.workspace import Workspace
from tests.workspaces import REPO

APP = str(REPO / "streamlit_app.py")


def session(monkeypatch, workspace, page):
    monkeypatch.setenv("LAB_WORKSPACE", str(workspace))
    monkeypatch.delenv("LAB_WORKSHOP", raising=False)
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_scalable_stage_page_leads_to_its_steps(monkeypatch, tmp_path):
    at = session(monkeypatch, tmp_path / "ws", "pages/stage_scalable.py")
    links = [link.label for link in at.get("page_link")]
    for title in ("Sharded processing", "Distributed training", "Measured speed-up",
                  "Many teams, one platform"):
        assert any(label.startswith(title) for label in links), links


def test_a_sharded_job_started_on_the_page_shows_each_instance(monkeypatch, small):
    at = session(monkeypatch, small.workspace, "pages/scale.py")
    at.number_input(key="sharded_n").set_value(2)
    [run] = [b for b in at.button if b.label == "Run the sharded processing job"]
    run.click().run()
    assert not at.exception
    store = JobStore(Workspace(small.workspace))
    [job] = store.list("processing-sharded")
    deadline = time.monotonic() + 90
    while not store.get(job.job_id).finished and time.monotonic() < deadline:
        time.sleep(0.2)
    at.run()
    assert not at.exception
    assert any("Every split holds the in-process preparation's rows" in s.value
               for s in at.success)
    hosts = [frame.value for frame in at.dataframe]
    assert any(list(f["instance"]) == ["algo-1", "algo-2"] for f in hosts
               if "instance" in getattr(f, "columns", [])), hosts


def test_teams_are_made_on_the_page_and_a_foreign_approval_is_refused(monkeypatch, trained):
    at = session(monkeypatch, trained.workspace, "pages/teams.py")
    for name in ("pricing", "risk"):
        at.text_input(key="team_name").set_value(name)
        [create] = [b for b in at.button if b.label == "Create the team"]
        create.click().run()
        assert not at.exception
    assert [t.name for t in teams.list_teams(trained)] == ["pricing", "risk"]
    teams.stamp_project(trained, "pricing")
    version = teams.register_for_team(trained, "pricing")
    at.run()
    at.selectbox(key="acting_team").set_value("risk").run()
    at.selectbox(key="acting_mg").set_value(version.group).run()
    [approve] = [b for b in at.button if b.label == "Approve it"]
    approve.click().run()

    assert not at.exception
    assert any("Team risk cannot approve or reject the models" in e.value for e in at.error)
    assert not JobStore(Workspace(trained.workspace)).list("team-action")  # nothing started
    assert open_registry(trained).describe_version(version.group, 1).status == PENDING
