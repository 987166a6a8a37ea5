"""Local automatic model tuning: Optuna proposes, trials train in parallel, best is marked."""

from __future__ import annotations

import time

import pytest

from lab import jobs
from lab.errors import ParameterError
from lab.training import Experiments
from lab.training import _local as local_engine
from lab.tuning import build_tuning_spec, tuning_job
from lab.tuning._local import _sampler
from lab.workspace import Workspace
from tests.lab.training.train_helpers import FAILING_SCRIPT
from tests.workspaces import wait_for_job

SMALL_RANGES = [{"name": "max_depth", "min_value": 2, "max_value": 4},
                {"name": "n_estimators", "min_value": 5, "max_value": 15}]


def test_trials_run_in_parallel_appear_as_they_finish_and_the_best_is_marked(small):
    ws = Workspace(small.workspace)
    experiments = Experiments(ws)
    job_id = jobs.start(small, tuning_job(small, ranges=SMALL_RANGES, max_jobs=3,
                                          max_parallel_jobs=2))
    seen_while_running = 0
    store = jobs.JobStore(ws)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = store.get(job_id)
        if job.finished:
            break
        completed = [r for r in experiments.list(tuning_job=job_id) if r.status == "Completed"]
        seen_while_running = max(seen_while_running, len(completed))
        time.sleep(0.1)
    job = wait_for_job(ws, job_id)

    assert job.status == jobs.COMPLETED, job.error
    assert seen_while_running >= 1  # a finished trial showed before the job ended
    trials = experiments.list(tuning_job=job_id)
    assert [t.trial for t in trials] == [1, 2, 3]
    assert all(t.status == "Completed" and t.tuning_job == job_id for t in trials)
    for t in trials:
        assert 2 <= t.params["max_depth"] <= 4 and 5 <= t.params["n_estimators"] <= 15
        assert t.artifact.endswith(f"trials/{t.trial:03d}/model.tar.gz")
    assert max_running(trials) == 2  # two at a time, never three
    best = min(trials, key=lambda t: t.validation["mse"])
    assert [t.run_id for t in trials if t.best] == [best.run_id]
    result = job.result
    assert result["trials"] == 3 and result["completed"] == 3
    assert result["best"]["mse"] == best.validation["mse"]
    assert result["best"]["hyperparameters"] == best.params
    assert result["best"]["artifact"] == best.artifact
    # the study is kept in the workspace, with the objective of each trial
    import optuna

    study = optuna.load_study(study_name=job_id, storage=f"sqlite:///{ws.path('tuning.db')}")
    assert sorted(t.value for t in study.trials) == sorted(t.validation["mse"] for t in trials)
    assert [t.params for t in study.trials] == [  # in trial order
        {k: t.params[k] for k in ("max_depth", "n_estimators")} for t in trials]
    log = store.log(job_id)
    assert "Trial 1 started" in log and "Trial 3 completed: mse" in log


def max_running(runs) -> int:
    events = sorted([(r.created, 1) for r in runs] + [(r.ended, -1) for r in runs],
                    key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def test_grid_runs_every_combination(small):
    job = jobs.run(small, tuning_job(small, strategy="Grid", max_jobs=1, max_parallel_jobs=1,
                                     ranges=[{"name": "max_depth", "kind": "Categorical",
                                              "values": (2, 3)}],
                                     static={"n_estimators": 5}))
    assert job.status == jobs.COMPLETED, job.error
    trials = Experiments(Workspace(small.workspace)).list(tuning_job=job.job_id)
    assert sorted(t.params["max_depth"] for t in trials) == [2, 3]
    assert {t.params["n_estimators"] for t in trials} == {5}


def test_samplers_follow_the_strategy():
    import optuna

    assert isinstance(_sampler(build_tuning_spec()), optuna.samplers.TPESampler)
    assert isinstance(_sampler(build_tuning_spec(strategy="Random")),
                      optuna.samplers.RandomSampler)
    grid = build_tuning_spec(strategy="Grid", ranges=SMALL_RANGES[:1])
    assert isinstance(_sampler(grid), optuna.samplers.GridSampler) and grid.total_jobs == 3


def test_failed_trials_are_recorded_and_all_failing_fails_the_job(small, tmp_path,
                                                                   monkeypatch):
    script = tmp_path / "failing.py"
    script.write_text(FAILING_SCRIPT)
    monkeypatch.setattr(local_engine, "ENTRY_POINT", script)

    job = jobs.run(small, tuning_job(small, ranges=SMALL_RANGES, max_jobs=2,
                                     max_parallel_jobs=2))

    assert job.status == jobs.FAILED
    assert "All 2 trials failed" in job.error and "out of memory" in job.error
    import optuna  # the study is saved even so, its trials Failed

    study = optuna.load_study(study_name=job.job_id,
                              storage=f"sqlite:///{Workspace(small.workspace).path('tuning.db')}")
    assert [t.state.name for t in study.trials] == ["FAIL", "FAIL"]
    trials = Experiments(Workspace(small.workspace)).list(tuning_job=job.job_id)
    assert [t.status for t in trials] == ["Failed", "Failed"]
    assert all("ERROR: out of memory" in t.log for t in trials)


def test_cancel_stops_the_running_trials(small, tmp_path, monkeypatch):
    script = tmp_path / "slow.py"
    script.write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    monkeypatch.setattr(local_engine, "ENTRY_POINT", script)
    ws = Workspace(small.workspace)
    job_id = jobs.start(small, tuning_job(small, ranges=SMALL_RANGES, max_jobs=4,
                                          max_parallel_jobs=2))
    experiments = Experiments(ws)
    deadline = time.monotonic() + 60
    while len(experiments.list(tuning_job=job_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    jobs.JobStore(ws).request_cancel(job_id)

    job = wait_for_job(ws, job_id, timeout=30)

    assert job.status == jobs.STOPPED
    trials = experiments.list(tuning_job=job_id)
    assert [t.status for t in trials] == ["Stopped", "Stopped"]  # no new trial after cancel


def test_an_invalid_spec_runs_nothing(small):
    ws = Workspace(small.workspace)
    with pytest.raises(ParameterError, match="cannot be above max_jobs"):
        jobs.start(small, tuning_job(small, max_jobs=2, max_parallel_jobs=3))
    assert not ws.jobs_dir.exists()
