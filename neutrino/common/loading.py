"""Find drivers and plugins by entry-point alias or ``module:Class`` / ``module.Class`` path."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any


class LoadError(Exception):
    """No driver or plugin by that name."""


def load_class(namespace: str, name: str) -> Any:
    """The class registered as ``name`` in ``namespace``, or imported from a path."""
    for ep in entry_points(group=namespace):
        if ep.name == name:
            return ep.load()
    module_name, sep, attr = name.partition(":")
    if not sep:
        module_name, _, attr = name.rpartition(".")
    if module_name and attr:
        try:
            return getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as e:
            raise LoadError(f"cannot load '{name}' for {namespace}: {e}") from e
    raise LoadError(f"no '{name}' registered in {namespace}")
