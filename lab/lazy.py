"""Lazy package exports: a package's `__init__` names what it offers, imported on first use.

Starting the CLI or a page should cost little more than Python itself, so a package's
`__init__` imports none of its modules. It declares each public name and the module that
defines it; the first `from lab.training import Experiments` imports that one module:

    __getattr__, __dir__, __all__ = exports(__name__, {"Experiments": "experiments", ...})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def exports(package: str, names: Mapping[str, str]
            ) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """(__getattr__, __dir__, __all__) for `package`; `names` maps a public name to the
    submodule (relative to the package) that defines it."""
    public = sorted(names)

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{names[name]}"), name)
        setattr(sys.modules[package], name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(public) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, public
