"""Safe rollouts on the local endpoint: traffic shifted between two fleets, guardrails,
automatic rollback; a steady stream of requests loses none."""

from __future__ import annotations

import pytest

from lab import jobs
from lab.errors import InputError, ParameterError
from lab.registry import REJECTED, default_group, open_registry
from lab.serving import (
    RolloutPlan,
    TrafficStream,
    describe_endpoint,
    replay_rows,
    rollout_job,
    window,
)


def test_plans_shift_in_the_steps_their_strategy_names():
    assert RolloutPlan("all").shares() == [1.0]
    assert RolloutPlan("canary", canary_percent=10).shares() == [0.1, 1.0]
    assert RolloutPlan("linear", linear_step_percent=30).shares() == [0.3, 0.6, 0.9, 1.0]
    for bad, message in ((RolloutPlan("blue-green"), "Unknown strategy"),
                         (RolloutPlan(canary_percent=80), "canary share"),
                         (RolloutPlan(bake_s=0), "bake time"),
                         (RolloutPlan(max_error_rate=2), "error-rate guardrail")):
        with pytest.raises(ParameterError, match=message):
            bad.check()


def test_a_broken_canary_rolls_back_and_a_steady_stream_loses_no_request(
        settings, versions, endpoint):
    """The issue's third "done when": a healthy rollout, then a broken canary, each under
    the test's own stream of requests, counted one by one."""
    rows = replay_rows(settings, 200)
    forest = versions["random_forest"].version

    stream = TrafficStream(settings, endpoint.name, rows, rate=80).start()
    healthy = jobs.run(settings, rollout_job(
        settings, forest, RolloutPlan("linear", linear_step_percent=50, bake_s=1,
                                      max_p99_ms=5000),  # latency is not what is tested
        traffic_rate=0)).outcome()
    counts = stream.stop()
    assert not healthy["rolled_back"] and healthy["serving_version"] == forest
    assert [s["share"] for s in healthy["steps"]] == [0.5, 1.0]
    assert all(s["requests"] > 0 and s["errors"] == 0 for s in healthy["steps"])
    assert counts.sent > 50 and counts.answered == counts.sent  # none lost, none refused
    assert set(counts.by_variant) >= {"blue-v1", f"green-v{forest}"}
    assert describe_endpoint(settings).version == forest

    started = healthy["steps"][-1]["ended"]
    stream = TrafficStream(settings, endpoint.name, rows, rate=80).start()
    broken = jobs.run(settings, rollout_job(
        settings, plan=RolloutPlan("canary", canary_percent=20, bake_s=3), broken=True,
        traffic_rate=0)).outcome()
    counts = stream.stop()
    assert broken["rolled_back"] and "error rate 100.0%" in broken["reason"]
    assert broken["serving_version"] == forest and len(broken["steps"]) == 1
    assert counts.lost == 0 and counts.answered + counts.refused == counts.sent
    assert 0 < counts.refused < counts.sent / 2  # only the canary's share failed
    assert set(counts.errors) == {"ModelError"}
    fleets = window(settings, endpoint.name, started)
    green = fleets[f"green-v{broken['to_version']}"]
    assert fleets[f"blue-v{forest}"].errors == 0 and green.errors == green.requests > 0
    assert describe_endpoint(settings).version == forest  # still serving, alone
    bad = open_registry(settings).describe_version(default_group(settings),
                                                   broken["to_version"])
    assert bad.status == REJECTED and "error rate" in bad.history[-1].comment


def test_a_rollout_is_refused_before_it_starts_when_it_cannot_help(settings, versions,
                                                                    endpoint):
    with pytest.raises(InputError, match="already serves"):
        rollout_job(settings, versions["xgboost"].version)
    with pytest.raises(InputError, match="requests a second"):
        rollout_job(settings, versions["random_forest"].version, traffic_rate=9999)
    assert describe_endpoint(settings).version == versions["xgboost"].version
