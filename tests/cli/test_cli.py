"""The command line, as billing staff and pipelines use it: exit codes, messages, files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from priorauth.cli import main
from tests.conftest import REPO, SAMPLES, pdf_pages

GOOD = str(SAMPLES / "chronic-migraine-with-aura.yaml")
BAD = str(SAMPLES / "invalid-case.yaml")


def run(*args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "priorauth", *args], input=input,
                          capture_output=True, cwd=REPO, timeout=120, check=False)


def test_validate_lists_every_problem_with_lines_and_exits_2() -> None:
    result = CliRunner().invoke(main, ["validate", GOOD, BAD])
    assert result.exit_code == 2
    assert f"{GOOD}: valid" in result.output
    assert "10 problems" in result.output
    assert "invalid-case.yaml:15: provider.npi: this NPI fails its check digit" in result.output
    assert "Traceback" not in result.output


def test_validate_good_exits_0() -> None:
    result = CliRunner().invoke(main, ["validate", GOOD])
    assert result.exit_code == 0, result.output


def test_render_writes_0600_pdf(tmp_path: Path) -> None:
    out = tmp_path / "letter.pdf"
    result = CliRunner().invoke(main, ["render", GOOD, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Dana Testpatient" in pdf_pages(out.read_bytes())[0]
    assert not [p for p in tmp_path.iterdir() if p.name != "letter.pdf"]  # no temp files left


def test_render_invalid_case_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "letter.pdf"
    result = CliRunner().invoke(main, ["render", BAD, "-o", str(out)])
    assert result.exit_code == 2
    assert "problems to fix" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_render_html(tmp_path: Path) -> None:
    out = tmp_path / "letter.html"
    result = CliRunner().invoke(main, ["render", GOOD, "--html", "-o", str(out)])
    assert result.exit_code == 0
    html = out.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Dana Testpatient" in html


def test_unknown_template_is_a_friendly_error() -> None:
    result = CliRunner().invoke(main, ["render", GOOD, "--template", "../../etc/passwd", "-o", "-"])
    assert result.exit_code == 2
    assert "may only use letters" in result.output and "Traceback" not in result.output


def test_schema_is_json_schema() -> None:
    import json

    result = CliRunner().invoke(main, ["schema"])
    schema = json.loads(result.output)
    assert "prior_therapies" in schema["properties"]
    assert "class" in schema["$defs"]["PriorTherapy"]["properties"]


def test_real_subprocess_stdin_to_stdout() -> None:
    """`-` in, `-o -` out: the PDF goes to stdout, messages to stderr."""
    result = run("render", "-", "-o", "-", input=Path(GOOD).read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.startswith(b"%PDF-")
    assert "Dana Testpatient" in pdf_pages(result.stdout)[0]


def test_real_subprocess_bad_input_has_no_traceback() -> None:
    result = run("validate", BAD)
    assert result.returncode == 2
    assert b"Traceback" not in result.stderr and b"provider.npi" in result.stderr


def test_validate_never_imports_weasyprint() -> None:
    code = ("import sys; from priorauth.cli import main\n"
            f"try:\n    main(['validate', {GOOD!r}])\nexcept SystemExit: pass\n"
            "print('weasyprint' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=60, check=False)
    assert result.stdout.strip() == "False", result.stderr


def test_version() -> None:
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and "priorauth" in result.output


def test_umask_does_not_loosen_mode(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        result = CliRunner().invoke(main, ["render", GOOD, "-o", str(tmp_path / "o.pdf")])
    finally:
        os.umask(old)
    assert result.exit_code == 0
    assert stat.S_IMODE((tmp_path / "o.pdf").stat().st_mode) == 0o600


def test_init_starter_is_valid_once_its_placeholders_are_replaced(tmp_path: Path) -> None:
    """Issue 11.5: an untouched starter is an error naming each placeholder field."""
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0
    first, second = result.output.splitlines()[:2]
    assert first == "# yaml-language-server: $schema=priorauth-case.schema.json"
    assert second.startswith("# priorauth case file")
    path = tmp_path / "case.yaml"
    path.write_text(result.output, "utf-8")
    untouched = CliRunner().invoke(main, ["validate", str(path)])
    assert untouched.exit_code == 2
    for field in ("patient.given_name", "patient.family_name", "payer.name", "provider.name",
                  "provider.practice", "facility.name", "rationale"):
        assert f"{field}: is still the placeholder from `priorauth init`" in untouched.output
    assert "Traceback" not in untouched.output
    filled = (result.output.replace("Firstname", "Dana").replace("Lastname", "Quill")
              .replace("Payer Name", "Example Health").replace("Requesting Physician", "Alex Kim")
              .replace("Practice Name", "Kim Neurology")
              .replace("Infusion Center Name", "City Infusion")
              .replace("The clinician's own words", "Dr Kim's words"))
    path.write_text(filled, "utf-8")
    valid = CliRunner().invoke(main, ["validate", str(path)])
    assert valid.exit_code == 0, valid.output


def test_validate_notes_a_letter_dated_after_the_icd_fiscal_year() -> None:
    """Issue 11.2: the bundled ICD index is FY2026; the sample letters are dated in FY2027."""
    sample = SAMPLES / "chronic-migraine-with-aura.yaml"
    result = CliRunner().invoke(main, ["validate", str(sample)])
    assert result.exit_code == 0, result.output
    assert "letter.date: the letter is dated in ICD-10-CM FY2027" in result.output
    assert "bundled code index is FY2026" in result.output
