"""The step registry: one list that the router, Home, the sidebar and run-all read."""

from __future__ import annotations

import importlib
import inspect

import pytest

from lab.settings import Settings
from lab.steps import (
    RECAP,
    STAGES,
    STEPS,
    TOOL_PAGES,
    TOOLS,
    WRAP_UP,
    code_of,
    next_page,
    pages,
    progress,
    step,
)
from tests.workspaces import REPO


def test_every_page_exists_and_the_navigation_follows_the_stages():
    found = pages()
    assert found[0].file == "home.py" and found[0].stage is None
    assert [p.file for p in found if p.file.startswith("stage_")] == [
        f"stage_{s.lower()}.py" for s in STAGES]
    for page in found:
        assert (REPO / "pages" / page.file).is_file(), page.file
    files = [p.file for p in found]
    assert len(files) == len(set(files))  # a page shared by two steps is listed once
    assert {s.page for s in STEPS} <= set(files)
    order = [p.stage for p in found if p.stage and p.stage not in (WRAP_UP, TOOLS)]
    assert order == sorted(order, key=STAGES.index)  # grouped by stage, in stage order
    assert found[-len(TOOL_PAGES):] == list(TOOL_PAGES)  # the tools come last
    flow = found[:-len(TOOL_PAGES)]
    assert flow[-1].file == "instructor.py" and flow[-2].file == RECAP
    assert "instructor.py" not in [p.file for p in pages(instructor=False)]


def test_every_page_leads_to_the_next_and_the_walk_ends_on_the_recap():
    seen, page = [], "home.py"
    while page is not None:
        seen.append(page)
        after = next_page(page)
        page = after.file if after else None
    assert seen == [p.file for p in pages(instructor=False, tools=False)]
    assert seen[-1] == RECAP
    for stage in STAGES:  # each stage ends with its checkpoint, before the next stage
        i = seen.index(f"checkpoint_{stage.lower()}.py")
        assert seen[i + 1] in (f"stage_{STAGES[STAGES.index(stage) + 1].lower()}.py"
                               if stage != STAGES[-1] else RECAP,)


def test_step_keys_are_unique_and_every_runner_and_code_function_exists():
    assert len({s.key for s in STEPS}) == len(STEPS)
    for s in STEPS:
        for dotted in (*s.run, *[d for d in (s.code, s.prefetch) if d]):
            module, _, name = dotted.partition(":")
            assert callable(getattr(importlib.import_module(module), name)), dotted


@pytest.mark.parametrize("backend", ["local", "sagemaker"])
def test_the_code_shown_is_the_backends_own_and_readable(backend, tmp_path):
    settings = Settings(workspace=tmp_path / "ws", backend=backend)
    for s in STEPS:
        if s.code:
            functions = code_of(s.key, settings)
            assert functions, s.key
            for fn in functions:
                assert inspect.getsource(fn)
    local = code_of("processing", Settings(workspace=tmp_path / "ws"))
    remote = code_of("processing", settings)
    assert (local == remote) is (backend == "local")


def test_progress_reads_the_workspace(ws):
    assert progress(ws) == {s.key: False for s in STEPS}
    from lab.processing import run_prep

    run_prep(ws)
    done = progress(ws)
    assert done["data"] and done["prep"] and not done["processing"]
    assert step("prep").title == "Prepare the data"


def test_run_all_starts_the_warm_worker_first_on_the_local_backend_only(tmp_path, monkeypatch):
    from lab import warm
    from lab.steps import warm_up_runners

    started: list[bool] = []
    monkeypatch.setattr(warm, "_get_server", lambda: started.append(True))
    warm_up_runners(Settings(workspace=tmp_path, backend="sagemaker"))
    assert started == []  # its scripts run on AWS: no local worker to warm
    monkeypatch.setenv("LAB_TRAINING_WORKER", "subprocess")
    warm_up_runners(Settings(workspace=tmp_path, backend="local"))
    assert started == []  # cold subprocesses asked for: nothing to start
    monkeypatch.setenv("LAB_TRAINING_WORKER", "fork")
    warm_up_runners(Settings(workspace=tmp_path, backend="local"))
    assert started == ([True] if warm.warm_available() else [])


# Steps for the run-all ordering test below (named by text, as the registry names them).
TRACE: list[tuple[str, str, float]] = []


def _fake_part(name: str, seconds: float = 0.0, fail: bool = False):
    def part(settings, options, echo):
        import time

        TRACE.append((name, "start", time.monotonic()))
        echo(f"{name}: running")
        time.sleep(seconds)
        TRACE.append((name, "end", time.monotonic()))
        if fail:
            from lab.errors import JobError

            raise JobError(f"{name} failed")
        return {name: True, "timings_s": {name: seconds}}
    return part


wait_a = _fake_part("wait_a", 0.4)
wait_b = _fake_part("wait_b", 0.2)
then_c = _fake_part("then_c")
needs_a = _fake_part("needs_a")
broken = _fake_part("broken", fail=True)


def _fake_steps(*specs):
    from lab.steps import Step

    return tuple(Step(key, key, "Initial", "data.py", "", "", lambda ws: False,
                      run=(f"tests.lab.test_steps:{key}",), requires=requires, waits=waits)
                 for key, requires, waits in specs)


def test_run_all_runs_the_steps_after_a_waiting_one_meanwhile_and_prints_in_lab_order(
        tmp_path, monkeypatch):
    import lab.steps as steps

    monkeypatch.setattr(steps, "STEPS", _fake_steps(
        ("wait_a", (), True), ("wait_b", (), True), ("then_c", (), False),
        ("needs_a", ("wait_a",), False)))
    TRACE.clear()
    lines: list[str] = []
    out = steps.run_all(Settings(workspace=tmp_path), {}, lines.append)

    at = {(name, what): t for name, what, t in TRACE}
    # then_c does not need the waiting steps: it ran while wait_a waited
    assert at[("then_c", "start")] < at[("wait_a", "end")]
    assert at[("wait_b", "start")] >= at[("wait_a", "end")]  # waiting steps: one by one
    # needs_a needs wait_a: it waited for both waiting steps and then_c
    assert at[("needs_a", "start")] >= max(at[("wait_b", "end")], at[("then_c", "end")])
    assert lines == ["wait_a: running", "wait_b: running", "then_c: running",
                     "needs_a: running"]
    assert list(out["timings_s"]) == ["wait_a", "wait_b", "then_c", "needs_a"]
    assert all(out[k] for k in ("wait_a", "wait_b", "then_c", "needs_a"))


def test_run_all_raises_a_failure_beside_a_waiting_step_once_it_has_ended(tmp_path,
                                                                          monkeypatch):
    import lab.steps as steps
    from lab.errors import JobError

    monkeypatch.setattr(steps, "STEPS", _fake_steps(
        ("wait_a", (), True), ("broken", (), False), ("then_c", (), False)))
    TRACE.clear()
    lines: list[str] = []
    with pytest.raises(JobError, match="broken failed"):
        steps.run_all(Settings(workspace=tmp_path), {}, lines.append)
    assert ("wait_a", "end") in {(n, w) for n, w, _ in TRACE}  # not left half-done
    assert "then_c" not in {n for n, _, _ in TRACE}  # nothing runs after a failure
    assert lines == ["wait_a: running", "broken: running"]


def test_the_whole_lab_job_runs_the_steps_as_run_all_does_with_progress(tmp_path):
    from lab import jobs
    from lab.flow import _steps_job

    chosen = list(_fake_steps(("wait_a", (), True), ("then_c", (), False),
                              ("needs_a", ("wait_a",), False)))
    TRACE.clear()
    job = jobs.run(tmp_path, _steps_job(Settings(workspace=tmp_path), chosen, "Test"))
    assert job.status == "Completed", job.error
    assert job.result["steps"] == ["wait_a", "then_c", "needs_a"] and job.progress == 1.0
    log = [line for line in jobs.JobStore(job_store_ws(tmp_path)).log(job.job_id).splitlines()
           if line.startswith(("==", "wait_a", "then_c", "needs_a"))]
    assert log == ["== wait_a: tests.lab.test_steps", "wait_a: running",
                   "== then_c: tests.lab.test_steps", "then_c: running",
                   "== needs_a: tests.lab.test_steps", "needs_a: running"]
    at = {(name, what): t for name, what, t in TRACE}
    assert at[("then_c", "start")] < at[("wait_a", "end")]


def job_store_ws(root):
    from lab.workspace import Workspace

    return Workspace(root)


def test_run_all_prefetches_what_tuning_imports_on_the_local_backend_only(tmp_path):
    """The training step's prefetch (run in a thread while its training job runs) imports
    Optuna's SQLite storage locally, and nothing of the SDK's on SageMaker."""
    import subprocess
    import sys

    code = ("import sys\nfrom lab.settings import Settings\n"
            "from lab.steps import load_function, step\n"
            "load_function(step('training').prefetch)(Settings(workspace=sys.argv[1], "
            "backend=sys.argv[2]))\n"
            "print(sorted(m for m in ('optuna', 'sqlalchemy', 'alembic', 'sagemaker', 'boto3') "
            "if m in sys.modules))\n")
    seen = {backend: subprocess.run([sys.executable, "-c", code, str(tmp_path), backend],
                                    cwd=REPO, capture_output=True, text=True, check=True
                                    ).stdout.strip()
            for backend in ("local", "sagemaker")}
    assert seen == {"local": "['alembic', 'optuna', 'sqlalchemy']", "sagemaker": "[]"}
