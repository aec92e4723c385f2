"""Templates that try to exhaust memory or time, or crash, end as a clear error with file:line
(exit 2 in render, one failed record in batch, a problem in lint), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from priorauth.cli import main
from tests.conftest import SAMPLES

SAMPLE = str(SAMPLES / "crps.yaml")

BOMBS = {
    "format width": "{{ '%050000000d' | format(1) }}",
    "percent width": "{{ '%050000000d' % 1 }}",
    "str.format width": "{{ '{:>999999999}'.format(1) }}",
    "replace growth": "{% set s = 'x' * 50000 %}{{ s | replace('x', s) }}",
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}"
                    "{% endfor %}",
    "center width": "{{ 'x' | center(999999999) }}",
    "division by zero": "{{ 1 / 0 }}",
    "huge power": "{{ 10 ** 10000 }}",
    "index error": "{{ [1][5] }}",
}


def _folder(tmp_path: Path, body: str) -> Path:
    folder = tmp_path / "bomb"
    folder.mkdir(exist_ok=True)
    (folder / "letter.html.j2").write_text(
        '{% extends "priorauth/letter.html.j2" %}{% block letterhead %}\n' + body
        + "\n{% endblock %}", "utf-8")
    return folder


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_is_exit_2_with_file_and_line(tmp_path: Path, name: str) -> None:
    folder = _folder(tmp_path, BOMBS[name])
    result = CliRunner().invoke(main, ["render", SAMPLE, "--html", "--templates-dir", str(folder),
                                       "--template", "letter", "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2, result.output
    assert "letter.html.j2:2" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.html").exists()


def test_non_utf8_template_and_config_are_errors(tmp_path: Path) -> None:
    folder = tmp_path / "latin1"
    folder.mkdir()
    (folder / "letter.html.j2").write_bytes(b"{% extends 'priorauth/letter.html.j2' %}\xe9\xff")
    result = CliRunner().invoke(main, ["render", SAMPLE, "--templates-dir", str(folder),
                                       "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2 and "not UTF-8" in result.output
    other = tmp_path / "config"
    other.mkdir()
    (other / "priorauth-templates.yaml").write_bytes(b"rules:\n  - payer: \xff\xfe\n")
    result = CliRunner().invoke(main, ["render", SAMPLE, "--templates-dir", str(other),
                                       "-o", str(tmp_path / "y.pdf")])
    assert result.exit_code == 2 and "not UTF-8" in result.output


def test_a_bomb_fails_one_record_in_batch(tmp_path: Path) -> None:
    folder = _folder(tmp_path, BOMBS["format width"])
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["batch", SAMPLE, str(SAMPLES / "appeal.yaml"), "-o",
                                       str(tmp_path / "out"), "-q", "-j", "1", "--template",
                                       "letter", "--templates-dir", str(folder),
                                       "--report", str(report)])
    assert result.exit_code in (1, 2), result.output
    assert "Traceback" not in result.output
