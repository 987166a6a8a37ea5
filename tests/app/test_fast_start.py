"""Pages import no model library or cloud SDK until a step needs one: a learner opening
every page of a fresh workspace pays for pandas and plotly, not for scikit-learn,
XGBoost, Optuna, boto3 or the SageMaker SDK."""

from __future__ import annotations

import json
import subprocess
import sys

from lab.steps import pages
from tests.workspaces import REPO

HEAVY = ("sklearn", "xgboost", "optuna", "boto3", "botocore", "sagemaker")

VISIT = """
import json, sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1], default_timeout=60)
at.run()
seen = {}
for page in json.loads(sys.argv[2]):
    at.switch_page(page).run()
    assert not at.exception, (page, [e.value for e in at.exception])
    seen[page] = sorted(m for m in json.loads(sys.argv[3]) if m in sys.modules)
print(json.dumps(seen))
"""


def test_every_page_of_a_fresh_workspace_opens_without_model_libraries(tmp_path):
    files = [f"pages/{p.file}" for p in pages(instructor=False)]
    proc = subprocess.run(
        [sys.executable, "-c", VISIT, str(REPO / "streamlit_app.py"), json.dumps(files),
         json.dumps(HEAVY)], cwd=REPO, capture_output=True, text=True, timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
             "LAB_WORKSPACE": str(tmp_path / "workspace")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert seen == {page: [] for page in files}
