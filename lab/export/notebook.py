"""The attendee's lab as a notebook: prose and code per step, their parameters in one cell.

The `local` target's cells call `lab` the way the pages' buttons do; the `sagemaker`
target's cells are the workshop's SDK v2 code, the same text the pages show under "on
SageMaker", generated for the attendee's parameters.
"""

from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from lab.errors import InputError
from lab.export.choices import Choices, choices_of
from lab.export.sdk_cells import sagemaker_cells

TARGETS = ("local", "sagemaker")
NOTEBOOK_WORKSPACE = "lab-notebook-workspace"


def _literal(value: Any) -> str:
    return pprint.pformat(value, width=88, sort_dicts=False)


def _local_cells(c: Choices, workspace: str) -> list[tuple[str, str]]:
    """(kind, source) cells of the local notebook."""
    return [
        ("markdown", "# MLOps Lab, taken home (local backend)\n\n"
         "Every step of the lab as you ran it, calling the `lab` package the way the app's "
         "buttons do. It runs top to bottom on a `python3` kernel wherever the lab is "
         "installed, with no AWS account: everything goes into the workspace folder named "
         "below (your app's workspace is not touched). Change a parameter and run again."),
        ("code", "# The parameters you chose in the lab\n"
         f"WORKSPACE = {workspace!r}\n"
         f"DATASET = {_literal(c.dataset)}\n"
         f"PREP = {_literal(c.prep)}\n"
         f"PROCESSING_INSTANCE_COUNT = {c.instance_count!r}\n"
         f"ALGORITHM = {c.algorithm!r}\n"
         f"HYPERPARAMETERS = {_literal(c.hyperparameters)}\n"
         f"TUNING = {_literal(c.tuning)}\n"
         f"PIPELINE_PARAMETERS = {_literal(c.pipeline)}"),
        ("code", "from lab import jobs\n"
         "from lab.settings import load_settings\n"
         "from lab.workspace import Workspace\n\n"
         "settings = load_settings(WORKSPACE, backend=\"local\")\n"
         "ws = Workspace(settings.workspace)\n\n\n"
         "def log(line):\n"
         "    \"\"\"A job's log, without the per-round lines of training.\"\"\"\n"
         "    if not line.startswith(\"[\"):\n"
         "        print(line)\n\n\n"
         "print(\"workspace:\", ws.root)"),
        ("markdown", "## 1. The data\n\nThe housing data: eight features and the target. "
         "Generated data is made again from its seed; your own CSV must sit beside this "
         "notebook under its name."),
        ("code", "from lab.dataset import generate_housing, read_csv_path\n"
         "from lab.processing import use_dataset\n\n"
         "if DATASET[\"source\"] == \"generated\":\n"
         "    df = generate_housing(rows=DATASET[\"rows\"])\n"
         "else:\n"
         "    df = read_csv_path(DATASET[\"name\"] + \".csv\")\n"
         "use_dataset(ws, df, DATASET[\"name\"], DATASET[\"target\"], DATASET[\"source\"])\n"
         "df.describe().T"),
        ("markdown", "## 2. Prepare the data\n\nSplit into train, validation and test, then "
         "scale with a `StandardScaler` **fit on the train split only** (fit on all rows, "
         "it would leak the held-out rows into training)."),
        ("code", "from lab.processing import PrepParams, run_prep\n\n"
         "params = PrepParams(**PREP)\n"
         "result = run_prep(ws, params)\n"
         "result.rows"),
        ("markdown", "## 3. The same preparation as a processing job\n\nThe same script, run "
         "as a job with SageMaker's input and output folders, then compared with step 2."),
        ("code", "from lab.processing import processing_job\n\n"
         "job = jobs.run(settings, processing_job(settings, params, "
         "PROCESSING_INSTANCE_COUNT), log)\n"
         "job.outcome(\"processing job\")[\"comparison\"]"),
        ("markdown", "## 4. Feature Store\n\nOne feature group per split; the offline store "
         "answers SQL (for training), the online store one record by id (for inference)."),
        ("code", "from lab.featurestore import group_names, ingest_job, open_featurestore, "
         "workshop_query\n"
         "from lab.processing import read_meta\n\n"
         "jobs.run(settings, ingest_job(settings, True), log).outcome(\"ingest\")\n"
         "store, names = open_featurestore(settings), group_names(settings)\n"
         "sql = workshop_query(names[\"train\"], read_meta(ws.processed_dir)[\"columns\"])\n"
         "print(sql)\n"
         "store.query(sql).frame.head()"),
        ("code", "store.get_record(names[\"test\"], 0).values  # one record, online"),
        ("markdown", "## 5. Training, tracked as an experiment run\n\nThe metrics are read "
         "from the training log by the metric definitions' regular expressions."),
        ("code", "from lab.training import training_job\n\n"
         "job = jobs.run(settings, training_job(settings, ALGORITHM, HYPERPARAMETERS), log)\n"
         "job.outcome(\"training job\")[\"metrics\"]"),
        ("markdown", "## 6. Automatic model tuning\n\nEach trial is a training job; the "
         "objective is read on the validation split, and the test split stays for the end."),
        ("code", "from lab.tuning import tuning_job\n\n"
         "job = jobs.run(settings, tuning_job(settings, **TUNING), log)\n"
         "job.outcome(\"tuning job\")[\"best\"]"),
        ("markdown", "## 7. Register, approve, deploy, predict\n\nOnly an Approved version "
         "is deployed. The endpoint speaks SageMaker's runtime protocol on 127.0.0.1."),
        ("code", "from lab.registry import APPROVED, register_model, set_approval\n"
         "from lab.serving import deploy_job, predict_offline\n\n"
         "version = register_model(settings)  # the best run\n"
         "version = set_approval(settings, version.version, APPROVED, "
         "\"Approved in the notebook\")\n"
         "jobs.run(settings, deploy_job(settings, version.version), log).outcome(\"deploy\")\n"
         "prediction = predict_offline(settings, 5)\n"
         "list(zip(prediction.actual, prediction.predictions))"),
        ("markdown", "## 8. The pipeline (the Repeatable stage)\n\nProcess, train, evaluate, "
         "register only if the test MSE is under `MseThreshold`; run it twice to see the "
         "cache hits."),
        ("code", "from lab.pipelines import execution_of, pipeline_job, summary\n\n"
         "job = jobs.run(settings, pipeline_job(settings, PIPELINE_PARAMETERS), log)\n"
         "summary(execution_of(settings, job))"),
        ("markdown", "## 9. Clean up\n\nDelete the endpoint (locally this stops the runtime "
         "server; on SageMaker it stops the billing)."),
        ("code", "from lab.serving import delete_endpoint\n\n"
         "delete_endpoint(settings)\n"
         "print(\"done\")"),
    ]


def build_notebook(settings: Any, target: str = "local",
                   workspace: str = NOTEBOOK_WORKSPACE) -> Any:
    """The notebook (nbformat v4) of the attendee's lab for `target`."""
    import nbformat

    if target not in TARGETS:
        raise InputError(f"Unknown notebook target {target!r}: use {' or '.join(TARGETS)}.")
    c = choices_of(settings)
    cells = _local_cells(c, workspace) if target == "local" else sagemaker_cells(settings, c)
    nb = nbformat.v4.new_notebook()
    nb.metadata.update({
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "mlops_lab": {"target": target}})
    for kind, source in cells:
        nb.cells.append(nbformat.v4.new_markdown_cell(source) if kind == "markdown"
                        else nbformat.v4.new_code_cell(source))
    nbformat.validate(nb)
    return nb


def notebook_bytes(settings: Any, target: str = "local") -> bytes:
    import nbformat

    return nbformat.writes(build_notebook(settings, target)).encode()


def write_notebook(settings: Any, path: str | Path, target: str = "local") -> Path:
    """Write the notebook to `path` (a `.ipynb` file the user named on the command line)."""
    out = Path(path)
    if out.suffix != ".ipynb":
        raise InputError(f"Name the notebook file with .ipynb (got {out.name!r}).")
    if not out.parent.exists():
        raise InputError(f"The folder {out.parent} does not exist.")
    out.write_bytes(notebook_bytes(settings, target))
    return out
