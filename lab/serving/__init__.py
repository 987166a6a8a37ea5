"""Real-time endpoints and the local runtime server that speaks SageMaker's protocol.

    jobs.run(settings, deploy_job(settings, version=1))   # an Approved version -> endpoint
    invoke_endpoint(settings, None, "0.1,0.2,...")    # CSV in, predictions out (boto3)
    predict_online(settings, record_id=42)            # the online record -> payload -> model
    serve_forever(settings, port=8080)                # `python -m lab serve`
    jobs.run(settings, rollout_job(settings, plan=RolloutPlan("canary")))   # a safe rollout
    open_endpoints(settings).set_capture(name, CaptureConfig(enabled=True))  # data capture

Two implementations of one interface (`Endpoints`, in `_api.py`): `LocalEndpoints`,
served by this package's HTTP server on 127.0.0.1 (which also answers the Feature Store
runtime API for the local online store), and `SageMakerEndpoints` (the SDK v2
ModelPackage.deploy and Predictor). Neither imports boto3 or the SDK at module load.
"""

from __future__ import annotations

from typing import Any

from lab.lazy import exports
from lab.twins import open_twin

IMPLEMENTATIONS = {"local": "lab.serving._local:LocalEndpoints",
                   "sagemaker": "lab.serving._sagemaker:SageMakerEndpoints"}


def open_endpoints(settings: Any, **options: Any) -> Any:
    """The endpoints (an `Endpoints`) of the settings' backend."""
    return open_twin(IMPLEMENTATIONS, settings, **options)


__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["ALL_TRAFFIC", "CREATING", "FAILED", "IN_SERVICE", "SERVING", "STRATEGIES",
                     "UPDATING", "CaptureConfig", "Endpoint", "Endpoints", "Invocation",
                     "RolloutPlan", "RolloutResult", "RolloutStep", "Variant"], "_api"),
    **dict.fromkeys(["capture_bytes", "capture_folder", "read_captures"], "_capture"),
    **dict.fromkeys(["Window", "read_metrics", "window"], "_metrics"),
    **dict.fromkeys(["BROKEN_FEATURE", "ROLLOUT_KIND", "broken_version", "rollout_code",
                     "rollout_done", "rollout_job", "run_all_rollout", "replay_rows"],
                    "_rollout"),
    **dict.fromkeys(["TrafficCounts", "TrafficStream"], "_traffic"),
    **dict.fromkeys(["EndpointExistsError", "EndpointNotFoundError", "InvocationError",
                     "ServerError"], "_errors"),
    **dict.fromkeys(["featurestore_client", "runtime_client"], "_client"),
    **dict.fromkeys(["MAX_ROWS", "Prediction", "endpoint_model", "offline_query",
                     "payload_from_record", "predict_offline", "predict_online",
                     "register_deploy_and_predict", "rows_of_payload", "run_all_step", "code"],
                    "_inference"),
    **dict.fromkeys(["MAX_BODY_BYTES", "json_rows", "parse_csv", "parse_json", "to_csv"],
                    "_payload"),
    **dict.fromkeys(["ensure_server", "running_server", "serve_forever", "server_url",
                     "stop_server"], "_runtime"),
    **dict.fromkeys(["boto3_code", "sdk_code"], "_snippets"),
    **dict.fromkeys(["DEPLOY_KIND", "ENDPOINT", "approved_version", "default_endpoint",
                     "delete_endpoint", "deploy_job", "deploy_model", "describe_endpoint",
                     "endpoint_done", "invoke_endpoint", "latest_approved", "list_endpoints",
                     "resume_endpoints"], "_workshop"),
})
__all__ = ["IMPLEMENTATIONS", "open_endpoints", *_lazy]
