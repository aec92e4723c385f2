"""Bundled reference data (YAML), read through importlib.resources so it works when installed."""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Any

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML was built with it: ~10x faster on therapies.yaml, which
``validate`` reads on every run."""


@functools.cache
def load_yaml(name: str) -> Any:
    """Parse one bundled data file, once per process."""
    text = files(__name__).joinpath(name).read_text(encoding="utf-8")
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 (a safe loader: C or pure Python)


def label(group: str, key: str) -> str:
    """Human label for an enum value (see labels.yaml); falls back to the value itself."""
    value = str(getattr(key, "value", key))
    labels: dict[str, dict[str, str]] = load_yaml("labels.yaml")
    return labels.get(group, {}).get(value, value.replace("_", " "))
