"""Bundled reference data (YAML), read through importlib.resources so it works when installed."""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Any

import yaml


@functools.cache
def load_yaml(name: str) -> Any:
    """Parse one bundled data file, once per process."""
    text = files(__name__).joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def label(group: str, key: str) -> str:
    """Human label for an enum value (see labels.yaml); falls back to the value itself."""
    value = str(getattr(key, "value", key))
    labels: dict[str, dict[str, str]] = load_yaml("labels.yaml")
    return labels.get(group, {}).get(value, value.replace("_", " "))
