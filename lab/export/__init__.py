"""Take it home: the attendee's lab as a Jupyter notebook, with the prose and the code of
each step and the parameters they chose.

    notebook = build_notebook(settings, target="local")   # an nbformat NotebookNode
    write_notebook(settings, "my-lab.ipynb", target="sagemaker")
    notebook_bytes(settings, "local")                      # what the download button sends

Two targets: `local` calls `lab` (runs top to bottom anywhere the lab is installed, on a
`python3` kernel, in a workspace folder of its own); `sagemaker` is the workshop's code,
the SageMaker Python SDK v2 with the attendee's parameters (runs in an AWS account).
"""

from __future__ import annotations

from lab.lazy import exports

__getattr__, __dir__, _lazy = exports(__name__, {
    **dict.fromkeys(["TARGETS", "build_notebook", "notebook_bytes", "write_notebook"],
                    "notebook"),
    **dict.fromkeys(["Choices", "choices_of"], "choices"),
})
__all__ = list(_lazy)
