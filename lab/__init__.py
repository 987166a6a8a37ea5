"""MLOps Lab: the library behind the app and the CLI (no UI code in here).

Each step is a function with explicit inputs (a workspace or settings, parameters) that
returns a small result object; the pages and `python -m lab` call the same functions.
"""

__version__ = "0.1.0"
