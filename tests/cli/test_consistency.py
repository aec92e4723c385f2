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

CASES = ["chronic-migraine-with-aura", "fails-criteria", "crps", "no-policy"]


def _case_file(name: str, folder: Path) -> Path:
    if name != "no-policy":
        return SAMPLES / f"{name}.yaml"
    data = yaml.safe_load((SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8"))
    data["diagnoses"] = [{"code": "G89.4", "primary": True}]
    data["id"] = "no-policy"
    path = folder / "no-policy.yaml"
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
