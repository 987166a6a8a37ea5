"""The bundled price table and the twins' records of what they launched."""

from __future__ import annotations

import json

import pytest

from lab.aws import prices
from lab.aws.ledger import Ledger
from lab.settings import Settings


def test_the_price_table_says_its_date_and_source():
    table = json.loads(prices.TABLE.read_text())
    assert table["date"] and "aws.amazon.com/sagemaker/pricing" in table["source"]
    assert table["region"] == "us-east-1" and table["currency"] == "USD"
    for use in prices.USES:
        assert prices.hourly(use, "ml.m5.large") == pytest.approx(0.115)
    assert table["date"] in prices.source_note()


@pytest.mark.parametrize(("estimate", "text"), [
    (prices.estimate("training", "ml.m5.large", 1, 240),
     "1 × ml.m5.large at $0.115/h each: about $0.0077 for 4 min"),
    (prices.estimate("processing", "ml.m5.large", 2, 90),
     "2 × ml.m5.large at $0.115/h each: about $0.0057 for 90 s"),
    (prices.estimate("hosting", "ml.m5.large"),
     "1 × ml.m5.large at $0.115/h each: $0.115 per hour while it runs (about $83 a month)"),
    (prices.estimate("hosting", "ml.p5.48xlarge"),
     "1 × ml.p5.48xlarge (not in the lab's price table: see AWS's pricing page)"),
    (prices.estimate("training", "ml.m5.large", 1, 7200 * 2, region="eu-west-1"),
     "1 × ml.m5.large at $0.115/h each: about $0.4600 for 4.0 h (the us-east-1 price; "
     "eu-west-1 may differ)"),
])
def test_estimates_read_as_a_learner_needs_them(estimate, text):
    assert estimate.text == text


def test_the_twins_say_what_a_launch_costs_before_it(tmp_path):
    from lab.processing import open_processing
    from lab.serving import open_endpoints
    from lab.training import open_training
    from lab.tuning import open_tuning

    settings = Settings(workspace=tmp_path, backend="sagemaker")  # no AWS call is made
    assert open_processing(settings).launch_estimate(2).instance_count == 2
    assert open_training(settings).launch_estimate().seconds == 240
    assert open_tuning(settings).launch_estimate(4).seconds == 4 * 240
    assert open_endpoints(settings).launch_estimate().seconds is None  # open-ended
    local = Settings(workspace=tmp_path)
    assert not hasattr(open_processing(local), "launch_estimate")  # nothing billed locally


def test_the_ledger_keeps_launches_and_their_end(tmp_path):
    settings = Settings(workspace=tmp_path / "ws")
    ledger = Ledger(settings)
    assert ledger.list() == [] and not (tmp_path / "ws").exists()  # reading creates nothing
    first = ledger.start("registry", "endpoint", "ep", use="hosting", code="deploy()",
                         instance_type="ml.m5.large", instance_count=1)
    ledger.close("endpoint", "ep", "Updated")
    ledger.start("registry", "endpoint", "ep", use="hosting", code="update()",
                 instance_type="ml.m5.large", instance_count=1)
    assert [r.status for r in ledger.open_records()] == ["InProgress"]
    ledger.close("endpoint", "ep", "Deleted", 7200.0)
    newest, oldest = ledger.list("registry")
    assert (oldest.id, oldest.status, oldest.billed_seconds) == (first, "Updated", None)
    assert (newest.status, newest.billed_seconds) == ("Deleted", 7200.0)
    assert "billed 7200 s" in newest.summary and "about $0.2300 for 2.0 h" in newest.summary
    assert [r.code for r in ledger.latest("registry")] == ["update()"]
