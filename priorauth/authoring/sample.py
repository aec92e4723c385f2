"""The synthetic cases template tools render when the author gives none."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path

from priorauth.case.model import Case

SAMPLE_CASE = "sample-case.yaml"
"""Bundled with the templates: the case ``templates preview`` renders."""

BARE_SAMPLES = ("sample-minimal.yaml", "sample-minimal-appeal.yaml")
"""Bundled cases with every optional field left out: a template that prints a value the record
may lack ("plan None.") fails ``templates lint`` on them."""

SAMPLES_DIR = Path("samples")
"""A checkout's own sample cases (relative to the current folder), linted when present."""


def sample_case(path: Path | None = None) -> Case:
    """The case a preview renders: ``path``, or the synthetic sample bundled with the templates."""
    from priorauth.case.parse import load_case

    if path is not None:
        return load_case(path)
    return _bundled(SAMPLE_CASE)


def _bundled(name: str) -> Case:
    from priorauth.case.parse import parse_case

    return parse_case(files("priorauth.templates").joinpath(name).read_text("utf-8"), source=name)


def lint_cases(paths: Sequence[Path] = ()) -> list[tuple[str, Case]]:
    """The cases ``templates lint`` renders every template with, each with the name a problem
    report shows: ``paths`` when given (each must validate: a bad case is the author's error),
    else the bundled samples (full and bare) and every ``samples/*.yaml`` of the current folder
    that validates (``samples/invalid-case.yaml`` is skipped on purpose)."""
    from priorauth.case.parse import load_case
    from priorauth.errors import CaseInvalid

    if paths:
        return [(str(path), load_case(path)) for path in paths]
    cases = [(name, _bundled(name)) for name in (SAMPLE_CASE, *BARE_SAMPLES)]
    if SAMPLES_DIR.is_dir():
        for path in sorted(SAMPLES_DIR.glob("*.yaml")):
            try:
                cases.append((path.as_posix(), load_case(path)))
            except CaseInvalid:
                continue
    return cases
