"""Template folders as an attacker writes them: files from outside, attachments, refused URLs.
Each attack must end in a clear error (exit 2 in render, one failed record in batch) and a PDF
that carries nothing but the letter and priorauth's own case.json."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from priorauth.cli import main
from tests.conftest import SAMPLES

SAMPLE = str(SAMPLES / "chronic-migraine-with-aura.yaml")


def _folder(tmp_path: Path, body: str, *, assets_link: Path | None = None) -> Path:
    folder = tmp_path / "payer"
    folder.mkdir()
    if assets_link is not None:
        (folder / "assets").symlink_to(assets_link)
    else:
        (folder / "assets").mkdir()
        (folder / "assets" / "note.txt").write_text("inside", "utf-8")
    (folder / "letter.html.j2").write_text(
        '{% extends "priorauth/letter.html.j2" %}{% block letterhead %}' + body
        + "{{ super() }}{% endblock %}", "utf-8")
    return folder


def _render(folder: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["render", SAMPLE, "--templates-dir", str(folder),
                                       "-o", str(out), *extra])
    return result.exit_code, result.output


def test_assets_symlinked_outside_the_folder_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0:SECRET", "utf-8")
    folder = _folder(tmp_path, '<link rel="stylesheet" href="assets/passwd">',
                     assets_link=outside)
    code, output = _render(folder, tmp_path / "x.pdf")
    assert code == 2 and "leads outside its template folder" in output
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("tag", [
    '<link rel="attachment" href="assets/note.txt">',
    "<a rel=attachment href='assets/note.txt'>x</a>",
    '<a href="data:text/plain,{{ patient.member_id }}" rel="nofollow attachment">x</a>',
    '<link REL="Attachment" title="x" href="assets/note.txt">',
])
@pytest.mark.parametrize("pdf_a", ["--pdf-a", "--no-pdf-a"])
def test_templates_cannot_attach_files(tmp_path: Path, tag: str, pdf_a: str) -> None:
    folder = _folder(tmp_path, tag)
    code, output = _render(folder, tmp_path / "x.pdf", pdf_a)
    assert code == 2 and "attach" in output, output
    assert not (tmp_path / "x.pdf").exists()


def test_only_case_json_is_ever_attached(tmp_path: Path) -> None:
    out = tmp_path / "ok.pdf"
    result = CliRunner().invoke(main, ["render", SAMPLE, "-o", str(out)])
    assert result.exit_code == 0
    assert list(PdfReader(io.BytesIO(out.read_bytes())).attachments) == ["case.json"]


@pytest.mark.parametrize("body", [
    '<img src="file:///etc/hostname">',
    '<img src="../../../../../../../../etc/hostname">',
    '<svg width="10" height="10"><image href="file:///etc/hostname" width="10" height="10"/>'
    "</svg>",
    '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">',
])
def test_a_refused_url_is_exit_2_not_a_traceback(tmp_path: Path, body: str) -> None:
    folder = _folder(tmp_path, body)
    code, output = _render(folder, tmp_path / "x.pdf")
    assert code == 2, output
    assert "Traceback" not in output and ("refused" in output or "could not be loaded" in output)
    assert not (tmp_path / "x.pdf").exists()


def test_a_refused_url_fails_one_record_in_batch(tmp_path: Path) -> None:
    folder = _folder(tmp_path, '<img src="file:///etc/hostname">')
    cases = tmp_path / "cases"
    cases.mkdir()
    for name in ("a", "b"):
        (cases / f"{name}.yaml").write_text(Path(SAMPLE).read_text("utf-8").replace(
            "id: sample-cm-aura", f"id: case-{name}"), "utf-8")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["batch", str(cases), "-o", str(tmp_path / "out"),
                                       "-j", "2", "-q", "--templates-dir", str(folder),
                                       "--report", str(report)])
    assert result.exit_code == 1, result.output
    records = json.loads(report.read_text())["records"]
    assert [r["status"] for r in records] == ["error", "error"]
    assert all("refused" in r["error"] or "loaded" in r["error"] for r in records)


# --- templates lint: the same rules as render (12.1) ----------------------------------------


def _lint(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["templates", "lint", str(folder)])
    return result.exit_code, result.output


def test_lint_refuses_an_assets_folder_linked_outside(tmp_path: Path) -> None:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0:SECRET", "utf-8")
    (outside / "evil.css").write_text("@import 'http://x/y.css';", "utf-8")
    folder = _folder(tmp_path, "", assets_link=outside)
    code, output = _lint(folder)
    assert code == 1, output
    assert "assets: leads outside its template folder" in output
    assert "Traceback" not in output and "SECRET" not in output
    assert "evil.css" not in output  # nothing behind the link is read


def test_lint_refuses_an_asset_file_linked_outside(tmp_path: Path) -> None:
    outside = tmp_path / "passwd"
    outside.write_text("root:x:0:0:SECRET", "utf-8")
    folder = _folder(tmp_path, '<img src="assets/logo.png">')
    (folder / "assets" / "logo.png").symlink_to(outside)
    (folder / "assets" / "sub").symlink_to(tmp_path, target_is_directory=True)
    code, output = _lint(folder)
    assert code == 1, output
    assert "logo.png: is a link to a file outside its template folder" in output
    assert "sub: is a link to a file outside its template folder" in output


def test_lint_accepts_links_that_stay_inside(tmp_path: Path) -> None:
    folder = _folder(tmp_path, '<img src="assets/alias.txt">')
    (folder / "assets" / "alias.txt").symlink_to(folder / "assets" / "note.txt")
    _code, output = _lint(folder)
    assert "outside" not in output, output


@pytest.mark.parametrize("tag", [
    '<link rel="attachment" href="assets/note.txt">',
    "<a rel=attachment href='assets/note.txt'>x</a>",
    '<a href="data:text/plain,{{ patient.member_id }}" rel="nofollow attachment">x</a>',
    '<link REL="Attachment" title="x" href="assets/note.txt">',
])
def test_lint_refuses_attachment_links(tmp_path: Path, tag: str) -> None:
    code, output = _lint(_folder(tmp_path, tag))
    assert code == 1, output
    assert "letter.html.j2:1: the template asks to attach a file" in output, output


def test_lint_finds_attachment_links_built_at_render_time(tmp_path: Path) -> None:
    code, output = _lint(_folder(tmp_path, "<link rel=\"{{ 'attach' ~ 'ment' }}\" "
                                           'href="assets/note.txt">'))
    assert code == 1, output
    assert "attach a file" in output and "Traceback" not in output
