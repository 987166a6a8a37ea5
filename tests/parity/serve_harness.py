"""One request through SageMaker's serving contract, run inside a parity environment.

What the scikit-learn (1.2-1) and XGBoost (1.7-1) serving containers do with a user module,
as read in sagemaker-containers 2.8.6 (`_server.start`, `_modules.import_module`,
`_transformer.Transformer`, `_worker.Request`) and sagemaker-inference 1.5
(`transformer.Transformer.transform`, the multi-model server's path):

- the module named by SAGEMAKER_PROGRAM (without `.py`) is imported from /opt/ml/code,
  where SAGEMAKER_SUBMIT_DIRECTORY was unpacked;
- `model_fn("/opt/ml/model")` runs once;
- per request, the body is decoded to `str` when the content type is exactly text/csv or
  application/json (`_content_types.UTF8_TYPES`), else handed over as bytes; then
  `input_fn(body, content_type)`, `predict_fn(data, model)`, `output_fn(prediction,
  accept)`; an output_fn tuple is (body, content type);
- a missing function falls back to the container's default; the lab's module defines all
  four, so no default is used here (the XGBoost default would decode CSV to a DMatrix).

Stdlib only (it runs in the containers' Python, 3.9). The model and its requests come as
JSON in the HARNESS_REQUEST variable; the answers are one JSON line (a list) on stdout.
"""

import importlib
import json
import os
import sys
import traceback

UTF8_TYPES = ("application/json", "text/csv")


def answer(module, model, request):
    body = bytes.fromhex(request["body_hex"])
    if request["content_type"] in UTF8_TYPES:
        body = body.decode("utf-8")
    try:
        data = module.input_fn(body, request["content_type"])
        prediction = module.predict_fn(data, model)
        result = module.output_fn(prediction, request["accept"])
    except Exception as exc:  # the toolkits answer 500 (or 415/406) with the error
        return {"status": 500, "error": f"{type(exc).__name__}: {exc}",
                "trace": traceback.format_exc()}
    if isinstance(result, tuple):
        body, content_type = result
    else:
        body, content_type = result, request["accept"]
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    return {"status": 200, "body": body, "content_type": content_type,
            "input_type": type(data).__name__}


def main():
    server = json.loads(os.environ["HARNESS_REQUEST"])
    sys.path.insert(0, server["code_dir"])
    program = server["program"]
    module = importlib.import_module(program[:-3] if program.endswith(".py") else program)
    for name in ("model_fn", "input_fn", "predict_fn", "output_fn"):
        if not hasattr(module, name):
            raise SystemExit("the serving module has no " + name)
    model = module.model_fn(server["model_dir"])  # once, as each worker does
    print(json.dumps([answer(module, model, r) for r in server["requests"]]))


if __name__ == "__main__":
    main()
