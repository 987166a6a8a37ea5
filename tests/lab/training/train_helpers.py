"""What only the training and tuning tests need (imported as tests.lab.training.train_helpers).

The workspaces they train in (`small`: 600 rows, 360/120/120, prepared and ingested), the
fast hyperparameters (FAST_XGB, FAST_FOREST) and `wait_for_job` are the suite's own, in
tests/workspaces.py. The facts that need the workshop's numbers use its CSV
(test_train_workshop.py).
"""

from __future__ import annotations

FAILING_SCRIPT = """\
import sys
print("train: 360 rows, 8 features", flush=True)
print("ERROR: out of memory while growing tree 3 (simulated)", flush=True)
sys.exit(1)
"""
