"""The one pipeline: no policy is a result, broken bundled data fails loudly, every command
agrees with the API."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import priorauth
from priorauth.cli import main
from priorauth.errors import NO_POLICY_MESSAGE, ExitCode, ReferenceDataError
from priorauth.letter.pipeline import LetterPipeline
from tests.conftest import SAMPLES, pdf_pages

SAMPLE = SAMPLES / "chronic-migraine-with-aura.yaml"


def _data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SAMPLE.read_text("utf-8"))
    return data


@pytest.fixture
def no_policy_case(tmp_path: Path) -> Path:
    """A case whose only diagnosis (G89.4, chronic pain syndrome) no bundled policy covers."""
    data = _data()
    data["diagnoses"] = [{"code": "G89.4", "primary": True}]
    path = tmp_path / "g894.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_no_policy_is_a_result_not_an_exception(no_policy_case: Path) -> None:
    case = priorauth.load_case(no_policy_case)
    prepared = LetterPipeline().prepare(case)
    assert prepared.check is None and prepared.no_policy == NO_POLICY_MESSAGE
    refusal = prepared.refusal()
    assert refusal is not None and refusal.exit_code is ExitCode.INVALID
    result = priorauth.render_letter(case, pdf_a=False)
    assert result.no_policy == NO_POLICY_MESSAGE and not result.all_met
    text = " ".join(pdf_pages(result.data))
    assert "Criteria addressed" not in text and case.patient.family_name in text


def test_no_policy_through_every_command(no_policy_case: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    check = runner.invoke(main, ["check", str(no_policy_case)])
    assert check.exit_code == 2 and NO_POLICY_MESSAGE in check.output
    strict = runner.invoke(main, ["render", str(no_policy_case), "--strict",
                                  "-o", str(tmp_path / "s.pdf")])
    assert strict.exit_code == 2 and NO_POLICY_MESSAGE in strict.output
    assert not (tmp_path / "s.pdf").exists()
    lenient = runner.invoke(main, ["render", str(no_policy_case), "-o", str(tmp_path / "l.pdf")])
    assert lenient.exit_code == 0 and NO_POLICY_MESSAGE in lenient.output
    assert (tmp_path / "l.pdf").read_bytes().startswith(b"%PDF")
    report = tmp_path / "report.json"
    batch = runner.invoke(main, ["batch", str(no_policy_case), "-o", str(tmp_path / "out"),
                                 "--strict", "-j", "1", "--report", str(report), "-q"])
    assert batch.exit_code == 1
    record = json.loads(report.read_text())["records"][0]
    assert record["status"] == "criteria-not-met"
    assert NO_POLICY_MESSAGE in json.dumps(record)
    assert not list((tmp_path / "out").glob("*.pdf"))


def test_broken_bundled_policy_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed bundled policy is never mistaken for 'no policy applies'."""
    from priorauth.policy import spec

    spec.bundled_policies.cache_clear()
    real = spec.parse_policy

    def broken(text: str, source: str) -> Any:
        return real(text.replace("criteria:", "criteria_typo:", 1), source)

    monkeypatch.setattr(spec, "parse_policy", broken)
    try:
        case = priorauth.load_case(SAMPLE)
        with pytest.raises(ReferenceDataError, match="bundled policy"):
            LetterPipeline().prepare(case)
        result = CliRunner().invoke(main, ["check", str(SAMPLE)])
        assert result.exit_code == ExitCode.INTERNAL
        assert "bundled reference data is broken" in result.output
        assert "Traceback" not in result.output
    finally:
        spec.bundled_policies.cache_clear()


def test_broken_catalogue_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    from priorauth.reference import catalogue

    catalogue.catalogue.cache_clear()
    real = catalogue.load_yaml

    def broken(name: str) -> Any:
        data = copy.deepcopy(real(name))
        if name == "therapies.yaml":
            next(iter(data["classes"].values()))["source"] = "no-such-source"
        return data

    monkeypatch.setattr(catalogue, "load_yaml", broken)
    try:
        with pytest.raises(ReferenceDataError):
            LetterPipeline().prepare(priorauth.load_case(SAMPLE))
    finally:
        catalogue.catalogue.cache_clear()


def test_a_bug_exits_70_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from priorauth.letter import pipeline

    def boom(self: Any, case: Any) -> Any:
        raise ZeroDivisionError("internal")

    monkeypatch.setattr(pipeline.LetterPipeline, "prepare", boom)
    result = CliRunner().invoke(main, ["check", str(SAMPLE)])
    assert result.exit_code == 70
    assert "internal error (ZeroDivisionError)" in result.output
    assert "Traceback" not in result.output
    debug = CliRunner().invoke(main, ["--debug", "check", str(SAMPLE)])
    assert debug.exit_code == 70 and "Traceback" in debug.output
