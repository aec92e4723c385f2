"""Archival output: PDF/A-3b with the case embedded, reproducible bytes, qpdf-clean files."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from priorauth import Case, load_case
from priorauth.case.model import LetterKind
from priorauth.cli import main
from priorauth.letter.render import Renderer
from tests.conftest import SAMPLES

AURA = SAMPLES / "chronic-migraine-with-aura.yaml"
APPEAL = SAMPLES / "appeal.yaml"
QPDF = shutil.which("qpdf")


@pytest.fixture(scope="module")
def outputs() -> dict[str, bytes]:
    """One of each output kind, rendered once."""
    renderer = Renderer()
    appeal = load_case(APPEAL)
    p2p = appeal.model_copy(update={"letter": appeal.letter.model_copy(
        update={"kind": LetterKind.peer_to_peer})})
    return {
        "letter": renderer.pdf(load_case(AURA)),
        "appeal+fax": renderer.pdf(appeal, fax_cover=True),
        "peer-to-peer": renderer.pdf(p2p),
        "tagged": renderer.pdf(load_case(AURA), tagged=True),
    }


def _embedded_case(pdf: bytes) -> Case:
    reader = PdfReader(io.BytesIO(pdf))
    [data] = reader.attachments["case.json"]
    return Case.model_validate_json(data)


@pytest.mark.parametrize("kind", ["letter", "appeal+fax", "peer-to-peer", "tagged"])
def test_pdfa_3b_markers_and_embedded_case(outputs: dict[str, bytes], kind: str) -> None:
    pdf = outputs[kind]
    reader = PdfReader(io.BytesIO(pdf))
    root = reader.trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert root["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    assert root["/Lang"] == "en"
    [spec] = root["/AF"]  # the case, once
    filespec = spec.get_object()
    assert filespec["/AFRelationship"] == "/Source" and filespec["/F"] == "case.json"
    source = APPEAL if kind in ("appeal+fax", "peer-to-peer") else AURA
    expected = load_case(source)
    if kind == "peer-to-peer":
        expected = expected.model_copy(update={"letter": expected.letter.model_copy(
            update={"kind": LetterKind.peer_to_peer})})
    assert _embedded_case(pdf) == expected
    assert len(reader.trailer["/ID"]) == 2


def test_tagged_output_has_a_structure_tree(outputs: dict[str, bytes]) -> None:
    reader = PdfReader(io.BytesIO(outputs["tagged"]))
    assert "/StructTreeRoot" in reader.trailer["/Root"]
    assert "/StructTreeRoot" not in PdfReader(io.BytesIO(outputs["letter"])).trailer["/Root"]


@pytest.mark.skipif(QPDF is None, reason="qpdf is not installed")
@pytest.mark.parametrize("kind", ["letter", "appeal+fax", "peer-to-peer", "tagged"])
def test_qpdf_check_passes(outputs: dict[str, bytes], kind: str, tmp_path: Path) -> None:
    path = tmp_path / "out.pdf"
    path.write_bytes(outputs[kind])
    result = subprocess.run([str(QPDF), "--check", str(path)], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors found" in result.stdout


def test_two_renders_are_byte_identical(outputs: dict[str, bytes]) -> None:
    fresh = Renderer()  # a new renderer: no shared caches
    assert fresh.pdf(load_case(AURA)) == outputs["letter"]
    assert fresh.pdf(load_case(APPEAL), fax_cover=True) == outputs["appeal+fax"]


def test_source_date_epoch_sets_the_attachment_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    case = load_case(AURA)
    first, second = Renderer().pdf(case), Renderer().pdf(case)
    assert first == second
    reader = PdfReader(io.BytesIO(first))
    names = reader.trailer["/Root"]["/Names"]["/EmbeddedFiles"]["/Names"]
    stream = names[1].get_object()["/EF"]["/F"].get_object()
    assert stream["/Params"]["/ModDate"] == "D:20260101000000Z"


def test_cli_pdf_a_default_and_opt_out(tmp_path: Path) -> None:
    runner = CliRunner()
    on, off = tmp_path / "on.pdf", tmp_path / "off.pdf"
    assert runner.invoke(main, ["render", str(AURA), "-o", str(on)]).exit_code == 0
    assert runner.invoke(main, ["render", str(AURA), "--no-pdf-a", "-o", str(off)]).exit_code == 0
    assert _embedded_case(on.read_bytes()) == load_case(AURA)
    reader = PdfReader(io.BytesIO(off.read_bytes()))
    assert not reader.attachments and "/OutputIntents" not in reader.trailer["/Root"]
    result = runner.invoke(main, ["render", str(APPEAL), "--fax-cover", "--html",
                                  "-o", str(tmp_path / "x.html")])
    assert result.exit_code == 2 and "--fax-cover needs a PDF" in result.output
