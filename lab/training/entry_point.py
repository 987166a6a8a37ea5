"""The training entry point: one script, run by the lab's local worker and by SageMaker.

SageMaker's framework estimators run it in script mode inside the scikit-learn (1.2-1) or
XGBoost (1.7-1) container, which have pandas, numpy, scikit-learn and xgboost but not the
lab, so it imports nothing from `lab` and keeps to Python 3.9 (the containers' Python).
It follows the training toolkit's contract (sagemaker-training for scikit-learn,
sagemaker-containers for XGBoost):

    hyperparameters   --algorithm xgboost --max_depth 8 ... (each value JSON-decoded by the
                      toolkit, then passed as `--name value`, sorted by name)
    inputs            $SM_CHANNEL_TRAIN, $SM_CHANNEL_VALIDATION: folders of CSV files, the
                      target in the first column, as the processing step writes them (no
                      header row, the workshop's layout). A first row that holds text is
                      read as a header (the lab's training page writes the feature store's
                      columns that way). $SM_CHANNEL_META (optional): the processing step's
                      prep.json, which names the columns of a headerless CSV and carries
                      the scaler into model.json.
    outputs           $SM_MODEL_DIR: the model file, model.json (what the model is, and the
                      versions of the libraries that trained it) and training.json
                      (learning curve, feature importance)
    log               `MSE: x` and `r-squared: x` on the validation split (the lines the
                      metric definitions read), one `[i]<TAB>train-rmse:x<TAB>validation-rmse:y`
                      line per boosting round or tree, and `ERROR: why` before a failing exit
    several instances $SM_HOSTS lists more than one host (instance_count > 1, XGBoost only):
                      each instance trains on the shards it received (ShardedByS3Key), with
                      XGBoost's own collective communication. The first host (sorted) starts
                      xgboost's RabitTracker on port 9099, as SageMaker's XGBoost container
                      does in algorithm mode; every host joins it, the histograms are summed
                      across hosts, so all of them build the same trees from all the rows.
                      Metrics are computed over every host's rows; the first host alone
                      writes the model (with each worker's rows in training.json).
                      DMLC_TRACKER_URI / DMLC_TRACKER_PORT (xgboost's own variables), when
                      set, say where the tracker is instead (the lab's local workers share
                      127.0.0.1; SageMaker's hosts are algo-1, algo-2... on their network).

Loading and applying the trained model is the serving script's job (`inference.py`, which
SageMaker's serving containers call and `lab.training.load_model` uses).

Run locally:  python lab/training/entry_point.py --algorithm random_forest --max_depth 8 \
                  --train DIR --validation DIR --model_dir DIR [--meta DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import socket
import sys
import time
import traceback

import numpy as np
import pandas as pd

# The workshop's metric definitions: SageMaker reads these numbers out of the job's log.
METRIC_DEFINITIONS = [
    {"Name": "mse", "Regex": "MSE: ([0-9.e+-]+)"},
    {"Name": "r2", "Regex": "r-squared: ([0-9.e+-]+)"},
]
CURVE_LINE = "[{step}]\ttrain-rmse:{train:.8g}\tvalidation-rmse:{validation:.8g}"
MODEL_FILES = {"xgboost": "xgboost-model.json", "random_forest": "model.joblib"}
MODEL_JSON, TRAINING_JSON = "model.json", "training.json"
FORMAT_VERSION = 1
_DEFAULTS = {"xgboost": {"max_depth": 5, "n_estimators": 200},
             "random_forest": {"max_depth": 8, "n_estimators": 80}}
TRACKER_PORT = 9099  # where SageMaker's XGBoost container starts its tracker, too
RESOLVE_S = 300  # SageMaker's hosts may take a while to resolve when a cluster starts


class BadInput(ValueError):
    """The data or a hyperparameter cannot be used; the message says what to change."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algorithm", default="xgboost", choices=sorted(MODEL_FILES))
    parser.add_argument("--max_depth", type=int, default=None)
    parser.add_argument("--n_estimators", type=int, default=None)
    parser.add_argument("--n_jobs", type=int, default=1)
    parser.add_argument("--eta", type=float, default=0.1)  # XGBoost only
    parser.add_argument("--subsample", type=float, default=1.0)  # XGBoost only
    parser.add_argument("--max_features", type=float, default=1.0)  # the forest only
    parser.add_argument("--random_state", type=int, default=42)
    parser.add_argument("--target_col", default=None)
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    parser.add_argument("--model_dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--meta", default=os.environ.get("SM_CHANNEL_META"))
    args, _ = parser.parse_known_args(argv)  # SageMaker may pass more than we use
    for name, value in _DEFAULTS[args.algorithm].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


def hyperparameters(args):
    """The hyperparameters the algorithm used, as recorded in model.json."""
    common = {"max_depth": args.max_depth, "n_estimators": args.n_estimators,
              "n_jobs": args.n_jobs}
    if args.algorithm == "xgboost":
        return dict(common, eta=args.eta, subsample=args.subsample)
    return dict(common, max_features=args.max_features)


def _is_number(value):
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def read_csv_files(folder, name):
    """Every CSV file under a channel folder (subfolders included, as an S3 prefix may
    hold them), with its header row if the first row holds text: (frame, header or None)."""
    files = sorted(glob.glob(os.path.join(folder or "", "**", "*.csv"), recursive=True))
    if not folder or not files:
        raise BadInput(f"No CSV file in the {name} channel ({folder}).")
    frames, header = [], None
    for path in files:
        raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
        # A header row holds names only; a data row with one bad value is still data.
        if len(raw) and not any(_is_number(v) for v in raw.iloc[0] if v != ""):
            names = [str(v) for v in raw.iloc[0]]
            if header is not None and names != header:
                raise BadInput(f"The files of the {name} channel have different headers.")
            header, raw = names, raw.iloc[1:]
        frames.append(raw)
    frame = pd.concat(frames, ignore_index=True).replace("", np.nan)
    return frame.apply(pd.to_numeric), header


def read_meta(folder):
    """The processing step's prep.json from the meta channel (None without one)."""
    if not folder:
        return None
    files = sorted(glob.glob(os.path.join(folder, "**", "*.json"), recursive=True))
    if not files:
        raise BadInput(f"No prep.json in the meta channel ({folder}).")
    with open(files[0]) as fh:
        return json.load(fh)


def column_names(header, width, meta, target_col=None):
    """The columns' names: the header row's, else the meta channel's, else generic ones."""
    if header is not None:
        return header
    if meta and len(meta.get("columns", [])) == width:
        return [str(c) for c in meta["columns"]]
    if meta:
        raise BadInput("The meta channel names {} columns, the data has {}.".format(
            len(meta.get("columns", [])), width))
    return [target_col or "target"] + [f"feature_{i}" for i in range(1, width)]


def load_channel(folder, name, target_col=None, meta=None):
    """(features frame, target series) from every CSV file in a channel folder."""
    frame, header = read_csv_files(folder, name)
    if len(frame) == 0 or frame.shape[1] < 2:
        raise BadInput(f"The {name} channel holds no rows or no feature.")
    frame.columns = column_names(header, frame.shape[1], meta, target_col)
    target = target_col if header is not None and target_col else frame.columns[0]
    if target not in frame.columns:
        raise BadInput(f"The {name} data has no column {target!r}.")
    print(f"{name}: {len(frame)} rows, {frame.shape[1] - 1} features", flush=True)
    return frame.drop(columns=[target]), frame[target]


def check(args):
    if args.max_depth < 1 or args.n_estimators < 1 or args.n_jobs < 1:
        raise BadInput("max_depth, n_estimators and n_jobs must be at least 1.")
    if not 0 < args.eta <= 1 or not 0 < args.subsample <= 1 or not 0 < args.max_features <= 1:
        raise BadInput("eta, subsample and max_features must be in (0, 1].")


def print_curve(step, train_rmse, validation_rmse):
    print(CURVE_LINE.format(step=step, train=train_rmse, validation=validation_rmse),
          flush=True)


class Cluster:
    """This training job's hosts, when it has more than one (SM_HOSTS), and where the
    tracker is: the first host, port 9099, unless DMLC_TRACKER_URI/PORT say otherwise."""

    def __init__(self, hosts, current, uri, port):
        self.hosts, self.current = hosts, current
        self.rank = hosts.index(current)
        self.uri, self.port = uri, port

    @classmethod
    def from_env(cls, env=None):
        env = os.environ if env is None else env
        hosts = sorted(json.loads(env.get("SM_HOSTS") or "[]"))
        if len(hosts) < 2:
            return None
        current = env.get("SM_CURRENT_HOST")
        if current not in hosts:
            raise BadInput(f"SM_CURRENT_HOST {current!r} is not one of SM_HOSTS {hosts}.")
        return cls(hosts, current, env.get("DMLC_TRACKER_URI") or hosts[0],
                   int(env.get("DMLC_TRACKER_PORT") or TRACKER_PORT))

    @property
    def is_first(self):
        return self.rank == 0


def resolve(host, wait_s=RESOLVE_S):
    """The host's address; SageMaker's hostnames may resolve only once the cluster is up."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return socket.gethostbyname(host)
        except OSError:
            if time.monotonic() > deadline:
                raise BadInput(f"The host {host} does not resolve: the instances cannot "
                               "reach each other.") from None
            time.sleep(1)


def start_tracker(cluster):
    """xgboost's own tracker, on the first host, for every host (1.7's API and the newer
    one: the images have 1.7, the lab's own Python a newer xgboost)."""
    from xgboost.tracker import RabitTracker

    address = resolve(cluster.uri)
    if hasattr(RabitTracker, "worker_args"):  # xgboost >= 2
        tracker = RabitTracker(n_workers=len(cluster.hosts), host_ip=address,
                               port=cluster.port, sortby="task")
        tracker.start()
    else:
        tracker = RabitTracker(host_ip=address, n_workers=len(cluster.hosts),
                               port=cluster.port, sortby="task")
        tracker.start(len(cluster.hosts))
    print(f"Tracker: {len(cluster.hosts)} workers, on {address}:{cluster.port}", flush=True)
    return tracker


def wait_for(tracker):
    """The tracker's end: every worker has finished."""
    if hasattr(tracker, "wait_for"):
        tracker.wait_for()
    else:
        tracker.join()


@contextlib.contextmanager
def communicator(cluster):
    """Inside it, xgboost's training and our allreduce sums span every host."""
    if cluster is None:
        yield
        return
    from xgboost import collective
    from xgboost.tracker import RabitTracker

    address = resolve(cluster.uri)
    if hasattr(RabitTracker, "worker_args"):  # xgboost >= 2: lower-case names
        settings = {"dmlc_tracker_uri": address, "dmlc_tracker_port": cluster.port,
                    "dmlc_task_id": str(cluster.rank)}
    else:
        settings = {"DMLC_TRACKER_URI": address, "DMLC_TRACKER_PORT": cluster.port,
                    "DMLC_TASK_ID": str(cluster.rank), "DMLC_NUM_WORKER": len(cluster.hosts)}
    with collective.CommunicatorContext(**settings):
        rank, world = collective.get_rank(), collective.get_world_size()
        if rank != cluster.rank or world != len(cluster.hosts):
            raise BadInput(f"The tracker gave {cluster.current} rank {rank} of {world}; "
                           f"expected {cluster.rank} of {len(cluster.hosts)}.")
        yield


def total(values, cluster):
    """`values` summed over every host (an allreduce); as is on one instance."""
    values = np.asarray(values, dtype=float)
    if cluster is None:
        return values
    from xgboost import collective

    return collective.allreduce(values, collective.Op.SUM)


def per_worker(value, cluster):
    """One number from each host, in rank order."""
    if cluster is None:
        return [value]
    values = np.zeros(len(cluster.hosts))
    values[cluster.rank] = value
    return total(values, cluster).tolist()


def train_xgboost(args, x_train, y_train, x_val, y_val, features):
    import xgboost as xgb

    # The matrices are built on n_jobs threads too: by default xgboost starts a thread per
    # core for them, and starting (and spin-waiting) that pool cost more than the copy.
    dtrain = xgb.DMatrix(x_train, label=y_train, feature_names=features, nthread=args.n_jobs)
    dval = xgb.DMatrix(x_val, label=y_val, feature_names=features, nthread=args.n_jobs)
    params = {"objective": "reg:squarederror", "eval_metric": "rmse",
              "max_depth": args.max_depth, "eta": args.eta, "subsample": args.subsample,
              "nthread": args.n_jobs, "seed": args.random_state}
    if getattr(args, "distributed", False):
        params["tree_method"] = "hist"  # histograms summed across hosts (1.7: not the default)

    class PrintCurve(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log):
            print_curve(epoch + 1, evals_log["train"]["rmse"][-1],
                        evals_log["validation"]["rmse"][-1])
            return False

    history = {}
    booster = xgb.train(params, dtrain, num_boost_round=args.n_estimators,
                        evals=[(dtrain, "train"), (dval, "validation")], evals_result=history,
                        verbose_eval=False, callbacks=[PrintCurve()])
    gain = booster.get_score(importance_type="gain")
    curve = {"train-rmse": history["train"]["rmse"],
             "validation-rmse": history["validation"]["rmse"]}
    return booster, curve, {f: float(gain.get(f, 0.0)) for f in features}, "gain"


def train_forest(args, x_train, y_train, x_val, y_val, features):
    from sklearn.ensemble import RandomForestRegressor

    model = RandomForestRegressor(max_depth=args.max_depth, n_estimators=args.n_estimators,
                                  max_features=args.max_features, n_jobs=args.n_jobs,
                                  random_state=args.random_state)
    model.fit(x_train, y_train)
    # The forest's prediction is the mean of its trees: the error after k trees comes from
    # the running mean of the trees' own predictions, with no retraining.
    curve = {}
    for split, x, y in (("train", x_train, y_train), ("validation", x_val, y_val)):
        running = np.cumsum([tree.predict(x) for tree in model.estimators_], axis=0)
        running /= np.arange(1, len(model.estimators_) + 1)[:, None]
        curve[split + "-rmse"] = np.sqrt(((running - np.asarray(y)) ** 2).mean(axis=1)).tolist()
    for step, (t, v) in enumerate(zip(curve["train-rmse"], curve["validation-rmse"]), 1):
        print_curve(step, t, v)
    importance = dict(zip(features, (float(v) for v in model.feature_importances_)))
    return model, curve, importance, "impurity"


def regression_metrics(actual, predicted, cluster=None):
    """mse, rmse, r2 and mae; plain numpy, so the container needs nothing more. With a
    cluster, over every host's rows (sums and counts added across hosts, in two passes)."""
    actual, predicted = np.asarray(actual, dtype=float), np.asarray(predicted, dtype=float)
    errors = predicted - actual
    count, sum_actual, squared, absolute = total(
        [len(actual), actual.sum(), np.sum(errors ** 2), np.sum(np.abs(errors))], cluster)
    mean = sum_actual / count
    spread = float(total([np.sum((actual - mean) ** 2)], cluster)[0])
    mse = float(squared / count)
    r2 = 1.0 - float(squared) / spread if spread > 0 else float("nan")
    return {"mse": mse, "rmse": mse ** 0.5, "r2": r2, "mae": float(absolute / count)}


def library_versions():
    """The versions this model was trained with: serving must load it with the same."""
    import platform

    versions = {"python": platform.python_version()}
    for name in ("numpy", "pandas", "sklearn", "xgboost", "joblib"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    return versions


def predict(algorithm, model, rows, features, n_jobs=None):
    if algorithm == "xgboost":
        import xgboost as xgb

        return model.predict(xgb.DMatrix(rows, feature_names=features, nthread=n_jobs))
    return model.predict(rows)


def save(args, model, model_dir, features, target, metrics, curve, importance, kind, seconds,
         meta_channel=None, workers=None):
    os.makedirs(model_dir, exist_ok=True)
    model_file = MODEL_FILES[args.algorithm]
    if args.algorithm == "xgboost":
        import xgboost as library

        model.save_model(os.path.join(model_dir, model_file))
    else:
        import joblib
        import sklearn as library

        joblib.dump(model, os.path.join(model_dir, model_file))
    meta = {"format_version": FORMAT_VERSION, "algorithm": args.algorithm,
            "model_file": model_file, "features": features, "target": target,
            "hyperparameters": hyperparameters(args), "metrics": {"validation": metrics},
            "library": {"name": library.__name__, "version": library.__version__},
            "libraries": library_versions()}
    if meta_channel and meta_channel.get("scaler"):  # the features are scaled by processing
        meta["preprocessing"] = {"scaler": meta_channel["scaler"]}
    with open(os.path.join(model_dir, MODEL_JSON), "w") as fh:
        json.dump(meta, fh, indent=2)
    steps = list(range(1, len(curve["validation-rmse"]) + 1))
    extra = {"curve": dict(curve, step=steps), "feature_importance": importance,
             "importance_type": kind, "fit_seconds": seconds}
    if workers:  # trained on several instances: each one's share of the rows
        extra["workers"] = workers
    with open(os.path.join(model_dir, TRAINING_JSON), "w") as fh:
        json.dump(extra, fh)


def main(argv=None):
    args = parse_args(argv)
    tracker = None
    try:
        check(args)
        cluster = Cluster.from_env()
        args.distributed = cluster is not None
        if cluster and args.algorithm != "xgboost":
            raise BadInput("Only XGBoost trains on several instances (it has collective "
                           "communication); the random forest trains on one.")
        if cluster and cluster.is_first:  # first, so it listens before the others call
            tracker = start_tracker(cluster)
        if not args.model_dir:
            raise BadInput("No model directory: pass --model_dir or set SM_MODEL_DIR.")
        meta = read_meta(args.meta)
        x_train, y_train = load_channel(args.train, "train", args.target_col, meta)
        x_val, y_val = load_channel(args.validation, "validation", args.target_col, meta)
        if list(x_val.columns) != list(x_train.columns):
            raise BadInput("The train and validation channels have different columns.")
        features, target = [str(c) for c in x_train.columns], str(y_train.name)
        print(f"Training {args.algorithm} with {json.dumps(hyperparameters(args))}"
              + (f" on {cluster.current}, worker {cluster.rank + 1} of {len(cluster.hosts)}"
                 if cluster else ""), flush=True)
        train = train_xgboost if args.algorithm == "xgboost" else train_forest
        __import__("xgboost" if args.algorithm == "xgboost" else "sklearn.ensemble")
        with communicator(cluster):
            started = time.perf_counter()  # after the import: the fit time is the training
            model, curve, importance, kind = train(args, x_train.to_numpy(float),
                                                   y_train.to_numpy(float), x_val.to_numpy(float),
                                                   y_val.to_numpy(float), features)
            seconds = time.perf_counter() - started
            predicted = predict(args.algorithm, model, x_val.to_numpy(float), features,
                                args.n_jobs)
            scores = regression_metrics(y_val, predicted, cluster)
            workers = None
            if cluster:
                rows = zip(per_worker(len(x_train), cluster), per_worker(len(x_val), cluster))
                workers = [{"host": host, "rank": rank, "train_rows": int(t),
                            "validation_rows": int(v)}
                           for rank, (host, (t, v)) in enumerate(zip(cluster.hosts, rows))]
                print("Workers: " + ", ".join(f"{w['host']} {w['train_rows']} train rows"
                                              for w in workers), flush=True)
        print(f"Fit seconds: {seconds:.3f}", flush=True)
        print("r-squared: {}".format(scores["r2"]), flush=True)
        print("MSE: {}".format(scores["mse"]), flush=True)
        if cluster is None or cluster.is_first:  # one model: the first host's (all equal)
            save(args, model, args.model_dir, features, target,
                 {"mse": scores["mse"], "r2": scores["r2"]}, curve, importance, kind,
                 seconds, meta, workers)
            print(f"Saved the model to {args.model_dir}", flush=True)
            log_to_experiment(dict(hyperparameters(args), algorithm=args.algorithm), scores,
                              curve)
        if tracker is not None:
            wait_for(tracker)
    except BadInput as exc:
        print(f"ERROR: {exc}", flush=True)
        return 1
    except Exception as exc:  # a library error: keep the trace in the log
        traceback.print_exc(file=sys.stdout)
        print(f"ERROR: {type(exc).__name__}: {exc}", flush=True)
        return 1
    return 0


def log_to_experiment(parameters, scores, curve):
    """Log the run to SageMaker Experiments from inside the job, where the container allows
    it: only in a SageMaker job (SM_TRAINING_ENV) whose container has the SageMaker SDK.
    The scikit-learn 1.2-1 and XGBoost 1.7-1 images have boto3 but not the SDK, so there the
    job's metric definitions carry mse and r2 to its experiment instead (the line says so)."""
    if "SM_TRAINING_ENV" not in os.environ:
        return
    try:
        from sagemaker.experiments.run import load_run
    except ImportError:
        print("Experiments: this container has no SageMaker SDK; the training job's metric "
              "definitions record mse and r2.", flush=True)
        return
    try:
        with load_run() as run:  # the run the job was started in (its ExperimentConfig)
            run.log_parameters(parameters)
            for name in ("mse", "r2"):
                run.log_metric("validation:" + name, scores[name])
            for step, value in enumerate(curve["validation-rmse"], 1):
                run.log_metric("validation:rmse", value, step=step)
        print("Experiments: logged to the job's run.", flush=True)
    except Exception as exc:  # noqa: BLE001 - logging is a nicety, the model is saved
        print(f"Experiments: not logged ({type(exc).__name__}: {exc}).", flush=True)


if __name__ == "__main__":
    sys.exit(main())
