"""Running a script the way SageMaker's containers run it, in a parity environment.

What each container does, as read in its public source (cited per function), with the
container's `/opt/ml` mapped into a temporary root: the scripts take their paths as
arguments (processing, evaluation) or from the toolkit's SM_* variables (training), so
nothing here writes outside the root.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from lab.archive import extract_tar
from tests.parity.envs import ParityEnv

HARNESS = Path(__file__).with_name("serve_harness.py")


class ContainerError(AssertionError):
    """The script failed in the container; the message holds its log."""


def opt_ml(root: Path) -> Path:
    return Path(root) / "opt" / "ml"


def run_processing(env: ParityEnv, code: Path, root: Path, inputs: dict[str, Path],
                   arguments: list[str], *, check: bool = True):
    """A processing job: each input copied to its destination under /opt/ml/processing,
    the code at /opt/ml/processing/input/code/<file>, run as `python3 <code> <arguments>`
    (the SDK's ScriptProcessor/SKLearnProcessor command). `inputs`: destination -> source."""
    for destination, source in inputs.items():
        target = Path(root) / destination.lstrip("/")
        if Path(source).is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target / Path(source).name)
    code_dir = opt_ml(root) / "processing" / "input" / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(code, code_dir / Path(code).name)
    proc = env.run([str(code_dir / Path(code).name), *arguments], cwd=root)
    if check and proc.returncode != 0:
        raise ContainerError(f"{Path(code).name} failed in {env.container.name}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def decoded_hyperparameters(sent: dict[str, str]) -> dict[str, object]:
    """sagemaker-training's `environment.read_hyperparameters` (and sagemaker-containers'):
    each value JSON-decoded, or kept as text when it is not JSON; then the `sagemaker_`
    parameters are split off (`mapping.split_by_criteria`)."""
    decoded = {}
    for key, value in sent.items():
        try:
            decoded[key] = json.loads(value)
        except (ValueError, TypeError):
            decoded[key] = value
    return {k: v for k, v in decoded.items() if not k.startswith("sagemaker_")}


def to_cmd_args(hyperparameters: dict[str, object]) -> list[str]:
    """`mapping.to_cmd_args`: `--name value` for each, sorted by name."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args += [f"--{key}" if len(key) > 1 else f"-{key}",
                 value if isinstance(value, str) else json.dumps(value)]
    return args


def run_training(env: ParityEnv, sourcedir: Path, program: str, hyperparameters: dict[str, str],
                 channels: dict[str, Path], root: Path, *, check: bool = True):
    """A training job in script mode. `sourcedir` (sourcedir.tar.gz or a folder) goes to
    /opt/ml/code; each channel to /opt/ml/input/data/<name>; `hyperparameters` are the
    strings CreateTrainingJob carries. The scikit-learn image runs `python <program> args`
    in /opt/ml/code (sagemaker-training 4.8 `entry_point.run`, ProcessRunner); the XGBoost
    image runs `python -m <module> args` (sagemaker-containers 2.8 `modules.run_module`).
    Returns (process, model folder)."""
    ml = opt_ml(root)
    code_dir, model_dir, output = ml / "code", ml / "model", ml / "output" / "data"
    for folder in (code_dir, model_dir, output):
        folder.mkdir(parents=True, exist_ok=True)
    if Path(sourcedir).is_dir():
        shutil.copytree(sourcedir, code_dir, dirs_exist_ok=True)
    else:
        extract_tar(sourcedir, code_dir)
    paths = {}
    for name, source in channels.items():
        paths[name] = ml / "input" / "data" / name
        shutil.copytree(source, paths[name], dirs_exist_ok=True)
    hps = decoded_hyperparameters(hyperparameters)
    args = to_cmd_args(hps)
    module = "sagemaker_xgboost_container.training:main" \
        if env.container.framework == "xgboost" else "sagemaker_sklearn_container.training:main"
    variables = {"SM_MODEL_DIR": str(model_dir), "SM_OUTPUT_DATA_DIR": str(output),
                 "SM_CHANNELS": json.dumps(sorted(paths)), "SM_HPS": json.dumps(hps),
                 "SM_USER_ARGS": json.dumps(args), "SM_MODULE_DIR": str(code_dir),
                 "SM_FRAMEWORK_MODULE": module, "SM_CURRENT_HOST": "algo-1",
                 "SM_HOSTS": '["algo-1"]', "SM_NUM_CPUS": "2", "SM_NUM_GPUS": "0",
                 "SM_TRAINING_ENV": json.dumps({"hyperparameters": hps, "model_dir":
                                                str(model_dir), "module_dir": str(code_dir)}),
                 **{f"SM_CHANNEL_{n.upper()}": str(p) for n, p in paths.items()},
                 **{f"SM_HP_{k.upper()}": v if isinstance(v, str) else json.dumps(v)
                    for k, v in hps.items()}}
    if env.container.framework == "xgboost":
        command = ["-m", Path(program).stem, *args]
    else:
        command = [program, *args]
    proc = env.run(command, env=variables, cwd=code_dir)
    if check and proc.returncode != 0:
        raise ContainerError(f"{program} failed in {env.container.name}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc, model_dir


def run_training_cluster(env: ParityEnv, sourcedir: Path, program: str,
                         hyperparameters: dict[str, str],
                         channels: dict[str, dict[str, Path]], root: Path, port: int
                         ) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """A training job on several instances (hosts -> their channels, already sharded as
    ShardedByS3Key gives them): each host its own /opt/ml under `root/<host>` and the
    toolkit's SM_HOSTS/SM_CURRENT_HOST, all started at once. The hosts share this machine,
    not a cluster network, so DMLC_TRACKER_URI/PORT say where the first host's tracker
    listens (the entry point's override of algo-1:9099). Returns host -> (process, model
    folder)."""
    hosts = sorted(channels)
    started = {}
    for host in hosts:
        ml = opt_ml(Path(root) / host)
        code_dir, model_dir = ml / "code", ml / "model"
        for folder in (code_dir, model_dir, ml / "output" / "data"):
            folder.mkdir(parents=True, exist_ok=True)
        extract_tar(sourcedir, code_dir)
        paths = {}
        for name, source in channels[host].items():
            paths[name] = ml / "input" / "data" / name
            shutil.copytree(source, paths[name], dirs_exist_ok=True)
        hps = decoded_hyperparameters(hyperparameters)
        variables = {"SM_MODEL_DIR": str(model_dir), "SM_CHANNELS": json.dumps(sorted(paths)),
                     "SM_HPS": json.dumps(hps), "SM_CURRENT_HOST": host,
                     "SM_HOSTS": json.dumps(hosts), "SM_NUM_CPUS": "1", "SM_NUM_GPUS": "0",
                     "SM_TRAINING_ENV": json.dumps({"hyperparameters": hps}),
                     "DMLC_TRACKER_URI": "127.0.0.1", "DMLC_TRACKER_PORT": str(port),
                     **{f"SM_CHANNEL_{n.upper()}": str(p) for n, p in paths.items()}}
        command = (["-m", Path(program).stem] if env.container.framework == "xgboost"
                   else [program]) + to_cmd_args(hps)
        started[host] = (env.start(command, env=variables, cwd=code_dir), model_dir)
    done = {}
    for host, (proc, model_dir) in started.items():  # small logs: no pipe fills meanwhile
        out, _ = proc.communicate(timeout=300)
        done[host] = (subprocess.CompletedProcess(proc.args, proc.returncode, out, ""),
                      model_dir)
    return done


def model_tar(model_dir: Path, target: Path) -> Path:
    """What SageMaker uploads from /opt/ml/model: model.tar.gz, files at its root."""
    with tarfile.open(target, "w:gz") as tar:
        for item in sorted(Path(model_dir).iterdir()):
            tar.add(item, arcname=item.name)
    return target


def sourcedir(files: list[Path], target: Path) -> Path:
    with tarfile.open(target, "w:gz") as tar:
        for path in files:
            tar.add(path, arcname=Path(path).name)
    return target


def serve(env: ParityEnv, model: Path, submit_dir: Path, program: str, body: str | bytes,
          content_type: str = "text/csv", accept: str = "application/json",
          root: Path | None = None) -> dict:
    """One request through the serving contract: {"status", "body", "content_type"} or
    the error (see `serve_many`)."""
    return serve_many(env, model, submit_dir, program, [(body, content_type, accept)],
                      root)[0]


def serve_many(env: ParityEnv, model: Path, submit_dir: Path, program: str,
               requests: list[tuple[str | bytes, str, str]], root: Path | None = None
               ) -> list[dict]:
    """Requests (body, content type, accept) to one serving process (serve_harness.py):
    the model.tar.gz unpacked as /opt/ml/model, SAGEMAKER_SUBMIT_DIRECTORY unpacked as
    /opt/ml/code, the module SAGEMAKER_PROGRAM imported, model_fn called once."""
    ml = opt_ml(root or Path(model).parent / "serving-root")
    shutil.rmtree(ml, ignore_errors=True)
    (ml / "model").mkdir(parents=True)
    extract_tar(model, ml / "model")
    extract_tar(submit_dir, ml / "code")
    server = {"model_dir": str(ml / "model"), "code_dir": str(ml / "code"),
              "program": program, "requests": [
                  {"content_type": c, "accept": a,
                   "body_hex": (b.encode() if isinstance(b, str) else b).hex()}
                  for b, c, a in requests]}
    proc = env.run([str(HARNESS)], env={"HARNESS_REQUEST": json.dumps(server)},
                   cwd=ml / "code")
    if proc.returncode != 0:
        raise ContainerError(f"the serving harness failed in {env.container.name}:\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def read_tar_member(path: Path, name: str) -> bytes:
    with tarfile.open(path) as tar:
        return tar.extractfile(name).read()


def tar_bytes(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
