"""Take it home: the exported notebooks. The local one runs top to bottom under nbclient
(a real python3 kernel, small data); the SageMaker one is valid nbformat whose code parses
and names the attendee's parameters."""

from __future__ import annotations

import ast
import json

import pytest

from lab.errors import InputError
from lab.export import build_notebook, write_notebook
from tests.cli import run_cli
from tests.workspaces import REPO

pytest.importorskip("nbformat", reason="nbformat is in requirements.txt")


def code_cells(nb):
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_the_local_notebook_runs_top_to_bottom_with_the_attendees_choices(small, tmp_path):
    from lab import jobs
    from lab.training import training_job

    pytest.importorskip("nbclient", reason="nbclient is in requirements.txt")
    pytest.importorskip("ipykernel", reason="ipykernel is in requirements.txt")
    from nbclient import NotebookClient

    # the attendee trained a small random forest: the notebook must use their choice
    chosen = {"n_estimators": 12, "max_depth": 4}
    jobs.run(small, training_job(small, "random_forest", chosen)).outcome()
    nb = build_notebook(small, "local", workspace=str(tmp_path / "notebook-ws"))
    params = nb.cells[1].source
    assert "ALGORITHM = 'random_forest'" in params and "'n_estimators': 12" in params
    assert "'rows': 600" in params  # the attendee's small dataset, made again from its seed
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO)}}).execute()
    outputs = {i: c.get("outputs", []) for i, c in enumerate(nb.cells)
               if c.cell_type == "code"}
    assert not [o for outs in outputs.values() for o in outs if o.output_type == "error"]
    text = json.dumps([o for outs in outputs.values() for o in outs])
    assert "identical" in text  # the processing job matched the in-process preparation
    assert "Succeeded" in text and "done" in text  # the pipeline ran, the endpoint is gone
    assert (tmp_path / "notebook-ws" / "experiments.db").exists()


def test_the_sagemaker_notebook_is_valid_and_its_code_names_the_parameters(trained):
    import nbformat

    nb = build_notebook(trained, "sagemaker")
    nbformat.validate(nb)
    sources = code_cells(nb)
    for source in sources:
        ast.parse(source)  # every code cell is Python that parses
    code = "\n".join(sources)
    assert "SKLearnProcessor(" in code and "ShardedByS3Key" in code
    assert "HyperparameterTuner(" in code and "FeatureGroup(" in code
    assert "ConditionLessThanOrEqualTo(" in code and "JsonGet(" in code
    assert "default_value=320000000.0" in code  # the pipeline's MseThreshold
    assert "\"max_depth\": 4" in code and "random_forest" in code  # their last run


def test_export_notebook_from_the_cli_writes_the_file(trained, tmp_path):
    import nbformat

    out = tmp_path / "my-lab.ipynb"
    result = run_cli("export-notebook", "--target", "sagemaker", "-o", str(out), "--json",
                     ws=trained.workspace)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["notebook"] == str(out)
    nbformat.validate(nbformat.read(out, as_version=4))


@pytest.mark.parametrize("name, message", [("lab.txt", ".ipynb"),
                                           ("missing/lab.ipynb", "does not exist")])
def test_a_bad_output_path_is_refused_with_a_clear_message(trained, tmp_path, name, message):
    with pytest.raises(InputError, match=message):
        write_notebook(trained, tmp_path / name)


def test_an_unknown_target_is_refused(trained):
    with pytest.raises(InputError, match="local or sagemaker"):
        build_notebook(trained, "colab")
