"""The workshop helper (one group per prepared split), the bench figures and the public API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lab.featurestore as fs
from lab.errors import InputError
from lab.featurestore import (
    LocalFeatureStore,
    SchemaError,
    group_names,
    ingest_prepared,
    open_featurestore,
    prepared_frames,
)
from lab.featurestore.bench import bench_figures
from lab.settings import Settings
from tests.workspaces import REPO


def test_ingest_prepared_result_and_progress(settings):
    seen = []
    result = ingest_prepared(settings, progress=lambda f, m: seen.append((f, m)))
    data = json.loads(json.dumps(result.to_json()))
    assert data["groups"] == {"train": "lab-train", "validation": "lab-validation",
                              "test": "lab-test"}
    assert data["offline_rows"] == data["online_rows"] == {"train": 6000, "validation": 2000,
                                                           "test": 2000}
    assert data["seconds"] > 0 and data["columns"][0] == "PRICE"
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 <= fractions[0]
    assert all(isinstance(m, str) and m for _, m in seen)


def test_prepared_frames_add_the_workshop_columns(settings):
    frames = prepared_frames(settings, event_time=1234.4)
    train = frames["train"]
    assert list(train.columns[-2:]) == ["record_id", "event_time"]
    assert train["record_id"].tolist() == list(range(len(train)))
    assert str(train["event_time"].dtype) == "float64" and set(train["event_time"]) == {1234.4}


def test_no_prepared_data_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="run the data preparation first"):
        ingest_prepared(Settings(workspace=tmp_path))
    assert not (tmp_path / "featurestore").exists()


def test_groups_of_another_dataset_are_refused_unless_recreated(settings, store):
    frames = prepared_frames(settings)
    store.create_group("lab-train", frames["train"].drop(columns=["DECK"]))
    with pytest.raises(SchemaError, match="other columns than the prepared data"):
        ingest_prepared(settings, store=store)
    assert store.describe_group("lab-train").offline_rows == 0
    result = ingest_prepared(settings, store=store, recreate=True)
    assert "DECK" in store.describe_group("lab-train").definitions
    assert result.online_rows["train"] == 6000


def test_group_names_are_per_workspace_on_sagemaker(tmp_path):
    local = group_names(Settings(workspace=tmp_path))
    a = group_names(Settings(workspace=tmp_path / "a", backend="sagemaker"))
    b = group_names(Settings(workspace=tmp_path / "b", backend="sagemaker"))
    assert local["train"] == "lab-train"
    assert a["train"].startswith("lab-train-") and a != b
    assert all(fs.check_name(n) for n in [*a.values(), *b.values()])


def test_open_featurestore_picks_the_backend(settings):
    store = open_featurestore(settings)
    assert isinstance(store, LocalFeatureStore) and store.backend == "local"
    assert set(fs.IMPLEMENTATIONS) == {"local", "sagemaker"}


def test_bench_figures_shape(settings):
    figures = bench_figures(settings, runs=2, gets=20, batch_gets=5)
    assert [f["unit"] for f in figures] == ["s", "ms", "ms"]
    assert [len(f["samples"]) for f in figures] == [2, 20, 5]
    assert [f["budget"] for f in figures] == [1.0, 1.0, 5.0]
    naive = figures[0]["reference_samples"]  # one INSERT and commit per row, beside it
    assert len(naive) == 1 and naive[0] > 0 and "per row" in figures[0]["reference_what"]
    assert not (Path(settings.workspace) / "featurestore").exists()  # a scratch store


def test_the_local_path_imports_neither_boto3_nor_the_sdk(tmp_path):
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from lab.settings import Settings\n"
        "import lab.featurestore as fs\n"
        "store = fs.open_featurestore(Settings(workspace=Path(sys.argv[1])))\n"
        "import pandas as pd\n"
        "df = pd.DataFrame({'record_id': [1], 'event_time': [1.0]})\n"
        "store.create_group('g', df); store.ingest('g', df); store.get_record('g', 1)\n"
        "store.query('SELECT * FROM g')\n"
        "bad = [m for m in ('boto3', 'botocore', 'sagemaker', 'streamlit') if m in sys.modules]\n"
        "print(bad)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
