"""Contract test of the public API: names, keyword-only options, lazy WeasyPrint.

A change here is a change for every user's code: update the README and the version with it.
"""

from __future__ import annotations

import inspect
import subprocess
import sys

import priorauth

PUBLIC = {
    "Case", "CaseInvalid", "ExitCode", "NoPolicyError", "PolicyError", "PriorAuthError",
    "Problem", "RecordResult", "ReferenceDataError", "RenderError", "TemplateError",
    "__version__", "check_case", "import_fhir", "load_case", "parse_case", "render_letter",
    "render_many",
}


def test_all_is_the_public_api() -> None:
    assert set(priorauth.__all__) == PUBLIC
    for name in priorauth.__all__:
        assert getattr(priorauth, name) is not None, name
    assert dir(priorauth) == sorted(PUBLIC - {"Case"})  # help() shows the API, not pydantic


def test_help_shows_the_api_not_pydantic_dumps() -> None:
    import pydoc

    text = pydoc.render_doc(priorauth, renderer=pydoc.plaintext)
    for name in PUBLIC - {"__version__"}:
        assert name in text, name
    assert "__pydantic" not in text and "model_config" not in text
    for name in priorauth.__all__:
        if name != "__version__":
            assert inspect.getdoc(getattr(priorauth, name)), f"{name} has no docstring"


def _options(func: object) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(func).parameters)  # type: ignore[arg-type]


def test_options_are_keyword_only() -> None:
    expected = {
        "load_case": (["path"], ["format"]),
        "parse_case": (["data"], ["format", "source"]),
        "check_case": (["case"], ["policy"]),
        "render_letter": (["case"], ["policy", "template", "templates_dirs", "pdf_a", "tagged",
                                     "fax_cover", "fmt"]),
        "import_fhir": (["source"], ["patient"]),
    }
    for name, (positional, keyword) in expected.items():
        params = _options(getattr(priorauth, name))
        assert [p for p, v in params.items() if v.kind is v.POSITIONAL_OR_KEYWORD] == positional
        assert [p for p, v in params.items() if v.kind is v.KEYWORD_ONLY] == keyword, name
        assert getattr(priorauth, name).__doc__, f"{name} has no docstring"
    many = _options(priorauth.render_many)
    assert all(v.kind is v.KEYWORD_ONLY for p, v in many.items() if p not in ("inputs", "outdir"))


def test_exit_codes() -> None:
    assert [int(c) for c in priorauth.ExitCode] == [0, 1, 2, 70, 130, 143]


def test_import_does_not_load_weasyprint() -> None:
    code = ("import sys, priorauth; priorauth.load_case; priorauth.check_case; "
            "print('weasyprint' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_case_invalid_str_lists_problems_without_values() -> None:
    try:
        priorauth.parse_case({"letter": {"kind": "initial", "date": "2026-13-45"}},
                             source="x.yaml")
    except priorauth.CaseInvalid as exc:
        text = str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected CaseInvalid")
    assert text.startswith("x.yaml: ")
    assert "letter.date" in text and "patient" in text
    assert "2026-13-45" not in text
