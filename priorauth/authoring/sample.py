"""The synthetic case template tools render when the author gives none."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from priorauth.case.model import Case

SAMPLE_CASE = "sample-case.yaml"
"""Bundled with the templates: the case ``templates preview`` and ``templates lint`` render."""


def sample_case(path: Path | None = None) -> Case:
    """The case a preview renders: ``path``, or the synthetic sample bundled with the templates."""
    from priorauth.case.parse import load_case, parse_case

    if path is not None:
        return load_case(path)
    text = files("priorauth.templates").joinpath(SAMPLE_CASE).read_text("utf-8")
    return parse_case(text, source=SAMPLE_CASE)
