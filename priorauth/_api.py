"""The Python API behind ``priorauth/__init__.py``: keyword-only options, one pipeline.

Every function here is what a CLI command does, minus the printing: ``render_letter`` is
``priorauth render``, ``check_case`` is ``priorauth check``, and so on, through the same
:class:`~priorauth.letter.pipeline.LetterPipeline`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from priorauth.case.model import Case
    from priorauth.fhir import ImportResult
    from priorauth.letter.pipeline import LetterPipeline, LetterResult
    from priorauth.policy.checks import CheckReport
    from priorauth.policy.spec import Policy


def load_case(path: str | Path, *, format: Literal["yaml", "json"] | None = None) -> Case:
    """Read, parse and validate a case file (``"-"`` reads standard input).

    Raises :class:`~priorauth.errors.CaseInvalid` listing every problem (field path, line,
    message; never the value).
    """
    from priorauth.case.parse import load_case as load

    return load(path, format)


def parse_case(data: str | bytes | Mapping[str, Any], *,
               format: Literal["yaml", "json"] | None = None,
               source: str | None = None) -> Case:
    """Validate a case given as YAML/JSON text or bytes, or as an already-parsed mapping.

    ``source`` names the input in problems (e.g. a file name). Raises
    :class:`~priorauth.errors.CaseInvalid`.
    """
    from priorauth.case.parse import case_from_data
    from priorauth.case.parse import parse_case as parse

    if isinstance(data, Mapping):
        return case_from_data(dict(data), source=source)
    return parse(data, format, source)


def check_case(case: Case, *, policy: Policy | str | None = None) -> CheckReport:
    """The checklist: every criterion of ``policy`` (default: the bundled policy for the
    diagnoses) met, not met or unknown, with the record facts behind each verdict.

    Raises :class:`~priorauth.errors.NoPolicyError` when no policy applies and none was named.
    """
    from priorauth.policy.checks import check_case as check

    return check(case, policy)


@functools.lru_cache(maxsize=8)
def _pipeline(template: str | None, templates_dirs: tuple[Path, ...],
              policy: str | None) -> LetterPipeline:
    from priorauth.letter.pipeline import LetterPipeline

    return LetterPipeline(template=template, templates_dirs=templates_dirs, policy=policy)


def render_letter(case: Case, *, policy: Policy | str | None = None,
                  template: str | None = None, templates_dirs: Sequence[str | Path] = (),
                  pdf_a: bool = True, tagged: bool = False, fax_cover: bool = False,
                  fmt: Literal["pdf", "html"] = "pdf") -> LetterResult:
    """Render the letter for ``case``: a :class:`~priorauth.letter.pipeline.LetterResult` with
    the bytes (PDF, or UTF-8 HTML with ``fmt="html"``), page count, template used, unmet
    criteria and warnings.

    Unmet criteria are left out of the letter (never stated as met) and listed in
    ``result.unmet``; when no policy applies, ``result.no_policy`` says so and the letter has no
    criteria section. Deciding to refuse such a letter is the caller's (``render --strict``).
    PDFs are PDF/A-3b with the case embedded as ``case.json`` unless ``pdf_a=False``.
    """
    dirs = tuple(Path(d) for d in templates_dirs)
    if policy is None or isinstance(policy, str):
        pipeline = _pipeline(template, dirs, policy)
    else:
        from priorauth.letter.pipeline import LetterPipeline

        pipeline = LetterPipeline(template=template, templates_dirs=dirs, policy=policy)
    return pipeline.render(case, fmt=fmt, pdf_a=pdf_a, tagged=tagged, fax_cover=fax_cover)


def import_fhir(source: str | Path, *, patient: str | None = None) -> ImportResult:
    """Import one patient from a FHIR R4 Bundle (JSON) or Bulk Data folder (NDJSON).

    The result has ``.yaml()`` (the draft case file, with TODOs for what a human must fill
    in), ``.report`` (what was filled from which resource) and ``.case()`` (a validated
    :class:`Case`, or :class:`~priorauth.errors.CaseInvalid` while TODOs remain).
    """
    from priorauth.fhir import import_case

    return import_case(source, patient)
