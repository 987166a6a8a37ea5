"""The processing job on the local backend: a real subprocess, compared with in-process."""

from __future__ import annotations

import pandas as pd

from lab import jobs
from lab.dataset import read_csv_path, save_dataset
from lab.jobs import COMPLETED, FAILED
from lab.processing import PrepParams, load_prepared, processing_job, run_prep, use_dataset
from lab.settings import Settings
from tests.workspaces import snapshot


def test_processing_job_matches_the_in_process_run_on_the_workshop_data(ws, house_csv):
    use_dataset(ws, read_csv_path(house_csv), "house_pricing.csv", "PRICE", "file")
    run_prep(ws)
    lines = []
    settings = Settings(workspace=ws.root)
    job = jobs.run(settings, processing_job(settings), echo=lines.append)
    assert job.status == COMPLETED, job.error
    assert job.result["match"] is True
    assert job.result["rows"] == {"train": 6000, "validation": 2000, "test": 2000}
    assert any("Starting pre-processing" in line for line in lines)
    job_dir = ws.jobs_dir / job.job_id
    assert (job_dir / "input" / "house_pricing.csv").exists()  # SageMaker-style input folder
    ours = load_prepared(ws.processed_dir)
    theirs = load_prepared(job_dir / "output")
    for split in ours:
        pd.testing.assert_frame_equal(ours[split], theirs[split])


def test_a_job_on_bad_data_fails_with_the_scripts_message_and_keeps_outputs(ws):
    run_prep(ws)
    before = snapshot(ws.processed_dir)
    # stored without validation, as a file edited behind the lab's back would be
    bad = pd.DataFrame({"x": range(20), "PRICE": ["cheap", "dear"] * 10})
    save_dataset(ws, bad, "broken", "PRICE", "file")
    settings = Settings(workspace=ws.root)
    job = jobs.run(settings, processing_job(settings, PrepParams()))
    assert job.status == FAILED
    assert "must be numeric" in job.error
    assert snapshot(ws.processed_dir) == before


def test_job_parameters_reach_the_script(ws):
    settings = Settings(workspace=ws.root)
    job = jobs.run(settings, processing_job(settings, PrepParams(0.8, 0.1, 0.1, 7)))
    assert job.status == COMPLETED, job.error
    assert job.result["rows"] == {"train": 8000, "validation": 1000, "test": 1000}
    assert job.result["match"] is True
