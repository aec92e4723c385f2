"""One case, every way in: ``check``, ``render``, ``render --strict``, ``batch``, ``batch
--strict`` and the API give the same verdicts and the same letter bytes (they share one pipeline;
this test keeps it that way)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import priorauth
from priorauth.cli import main
from tests.conftest import SAMPLES

CASES = ["chronic-migraine-with-aura", "fails-criteria", "crps", "no-policy",
         "appeal-investigational", "appeal-unanswered", "continuation-migraine",
         "continuation-below-threshold"]


def _case_file(name: str, folder: Path) -> Path:
    if name == "no-policy":
        data = yaml.safe_load((SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8"))
        data["diagnoses"] = [{"code": "G89.4", "primary": True}]
    elif name == "appeal-unanswered":  # every criterion met, one point of a stated reason open
        data = yaml.safe_load((SAMPLES / "appeal-investigational.yaml").read_text("utf-8"))
        data["letter"]["denial"]["reasons"][1]["answers"].pop()
    else:
        return SAMPLES / f"{name}.yaml"
    data["id"] = name
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", CASES)
def test_every_command_agrees(name: str, tmp_path: Path) -> None:
    path = _case_file(name, tmp_path)
    case = priorauth.load_case(path)
    runner = CliRunner()

    letter = priorauth.render_letter(case)
    expected_exit = 2 if letter.no_policy else (0 if letter.all_met else 1)

    check = runner.invoke(main, ["check", str(path)])
    assert check.exit_code == expected_exit, check.output

    strict = runner.invoke(main, ["render", str(path), "--strict", "-o", str(tmp_path / "s.pdf")])
    assert strict.exit_code == expected_exit, strict.output
    assert (tmp_path / "s.pdf").exists() == (expected_exit == 0)

    render = runner.invoke(main, ["render", str(path), "-o", str(tmp_path / "r.pdf")])
    assert render.exit_code == 0, render.output
    assert (tmp_path / "r.pdf").read_bytes() == letter.data

    for strict_flag in ([], ["--strict"]):
        out = tmp_path / f"batch{len(strict_flag)}"
        report = tmp_path / f"report{len(strict_flag)}.json"
        batch = runner.invoke(main, ["batch", str(path), "-o", str(out), "-j", "1", "-q",
                                     "--report", str(report), *strict_flag])
        assert batch.exit_code == (0 if letter.all_met else 1), batch.output
        record = json.loads(report.read_text())["records"][0]
        assert record["status"] == ("rendered" if letter.all_met else "criteria-not-met")
        pdfs = list(out.glob("*.pdf"))
        if strict_flag and not letter.all_met:
            assert pdfs == []
        else:
            assert [p.read_bytes() for p in pdfs] == [letter.data]


def test_an_unanswered_reason_is_reported_alike(tmp_path: Path) -> None:
    path = _case_file("appeal-unanswered", tmp_path)
    letter = priorauth.render_letter(priorauth.load_case(path))
    assert [s.code for s in letter.unanswered] == ["step_therapy"] and not letter.all_met
    runner = CliRunner()
    check = runner.invoke(main, ["check", str(path)])
    assert "[not answered] Step therapy not met (step_therapy)" in check.output
    assert "fill letter.denial.reasons[1].answers: add {item: adequacy" in check.output
    strict = runner.invoke(main, ["render", str(path), "--strict", "-o", str(tmp_path / "s.pdf")])
    assert ("1 stated denial reason not answered: step_therapy (fill "
            "letter.denial.reasons[1].answers)") in strict.output
    report = tmp_path / "report.json"
    runner.invoke(main, ["batch", str(path), "-o", str(tmp_path / "b"), "-j", "1", "-q",
                         "--strict", "--report", str(report)])
    record = json.loads(report.read_text())["records"][0]
    assert record["status"] == "criteria-not-met"
    assert [c["id"] for c in record["criteria"]] == ["denial.step_therapy"]


@pytest.mark.parametrize("evidence", [[], ["etchison-2018"]])
def test_a_certification_below_two_documents_is_refused_everywhere(evidence: list[str],
                                                                   tmp_path: Path) -> None:
    """Exit 2 in check, render and render --strict; an invalid record in batch (whose exit code
    counts failed records); CaseInvalid from the API. No PDF anywhere."""
    data = yaml.safe_load((SAMPLES / "appeal-investigational.yaml").read_text("utf-8"))
    data["letter"]["denial"]["reasons"][0]["certification"]["evidence"] = evidence
    path = tmp_path / "cert.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    field = "letter.denial.reasons[0].certification.evidence"
    message = "the certification needs at least 2 documents of medical and scientific evidence"
    runner = CliRunner()
    for args in (["check", str(path)],
                 ["render", str(path), "-o", str(tmp_path / "r.pdf")],
                 ["render", str(path), "--strict", "-o", str(tmp_path / "r.pdf")]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        assert field in result.output and message in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "r.pdf").exists()
    report = tmp_path / "report.json"
    batch = runner.invoke(main, ["batch", str(path), "-o", str(tmp_path / "b"), "-j", "1", "-q",
                                 "--report", str(report)])
    assert batch.exit_code == 1, batch.output
    record = json.loads(report.read_text())["records"][0]
    assert record["status"] == "invalid"
    assert [(p["path"], message in p["message"]) for p in record["problems"]] == [(field, True)]
    assert list((tmp_path / "b").glob("*.pdf")) == []
    with pytest.raises(priorauth.CaseInvalid) as info:
        priorauth.load_case(path)
    assert [p.path for p in info.value.problems] == [field]
