"""Finding 12: training on SageMaker never takes a partial read of the offline store, which
fills over minutes after an ingest; finding 8: Recreate waits for the old groups to be gone.
Against sm_world.py's Feature Store play (the runtime, the offline store, Athena by DuckDB)."""
# ruff: noqa: F811 (fixtures imported by name)

from __future__ import annotations

import time

import pytest

from tests.fake_aws import skip_without_aws_packages

skip_without_aws_packages()

from lab.errors import InputError  # noqa: E402
from lab.featurestore import group_names, ingest_prepared, last_ingest  # noqa: E402
from lab.settings import Settings  # noqa: E402
from lab.training.data import incomplete, read_training_data  # noqa: E402
from lab.workspace import write_json_atomic  # noqa: E402
from tests.lab.aws.sm_world import WORLD_BUCKET, WORLD_ROLE, world  # noqa: E402,F401
from tests.workspaces import make_small_workspace  # noqa: E402


@pytest.fixture
def sm(world, tmp_path):
    """A small prepared workspace on the SageMaker backend, ingested into the play."""
    local = make_small_workspace(tmp_path / "ws", ingest=False)
    settings = Settings(workspace=local.workspace, backend="sagemaker",
                        sagemaker_role=WORLD_ROLE, s3_bucket=WORLD_BUCKET)
    ingest_prepared(settings)
    return settings


def test_a_partial_offline_store_is_refused_with_how_long_to_wait(world, sm):
    train = group_names(sm)["train"]
    expected = last_ingest(sm)["rows"]["train"]
    world.featurestore.visible_rows[train] = expected // 2  # the store is still filling

    with pytest.raises(InputError) as caught:
        read_training_data(sm)

    message = str(caught.value)
    assert f"shows {expected // 2:,} of the {expected:,} records" in message
    assert "start the training again in about 15 minutes" in message
    # long after the ingest, the same shortfall is no longer a matter of waiting
    record = last_ingest(sm)
    write_json_atomic(sm.workspace / "featurestore" / "last_ingest.json",
                      {**record, "finished_at": time.time() - 3600})
    with pytest.raises(InputError, match="should all be there by now"):
        read_training_data(sm)
    # once every record has arrived, training reads them all
    del world.featurestore.visible_rows[train]
    data = read_training_data(sm)
    assert data.rows == last_ingest(sm)["rows"]


def test_records_left_from_an_earlier_ingest_are_refused(world, sm):
    record = last_ingest(sm)
    fewer = {**record["rows"], "validation": record["rows"]["validation"] - 5}
    write_json_atomic(sm.workspace / "featurestore" / "last_ingest.json",
                      {**record, "rows": fewer})
    with pytest.raises(InputError, match="records of an earlier ingest are still there"):
        read_training_data(sm)


def test_recreate_waits_for_each_group_to_be_gone_before_creating_it(world, sm):
    world.extras.deleting_looks = 3  # DescribeFeatureGroup says Deleting three times
    creates = len(world.sent("CreateFeatureGroup"))

    ingest_prepared(sm, recreate=True)

    names = list(group_names(sm).values())
    assert [c for c in world.extras.calls if c.startswith("DeleteFeatureGroup")] == [
        f"DeleteFeatureGroup {n}" for n in names]
    sent = [name for name, _ in world.requests
            if name in ("DeleteFeatureGroup", "DescribeFeatureGroup", "CreateFeatureGroup")]
    for name in names:  # delete, then describes until it is gone, and only then create
        ops = [op for op, params in world.requests
               if params.get("FeatureGroupName") == name and op in (
                   "DeleteFeatureGroup", "DescribeFeatureGroup", "CreateFeatureGroup")]
        after_delete = ops[ops.index("DeleteFeatureGroup"):]
        assert after_delete[:5] == ["DeleteFeatureGroup"] + ["DescribeFeatureGroup"] * 4
        assert "CreateFeatureGroup" in after_delete[5:]
    assert len(world.sent("CreateFeatureGroup")) == creates + 3 and sent


def test_the_counts_rule():
    assert incomplete("g", 10, None, 900, None) is None  # nothing known: taken
    assert incomplete("g", 10, 10, 900, time.time()) is None
    assert "in about 10 minutes" in incomplete("g", 4, 10, 900, 1000.0, now=1300.0)
    assert "1 minute" in incomplete("g", 4, 10, 900, 1000.0, now=1000.0 + 870)
