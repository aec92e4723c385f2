"""Names in many scripts print with real glyphs; a character no font has is a warning, not a box."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from priorauth import load_case, parse_case
from priorauth.cli import main
from priorauth.letter.glyphs import (
    GlyphWarning,
    coverage,
    font_files,
    missing_glyphs,
    missing_in_text,
)
from priorauth.letter.render import Renderer

REPO = Path(__file__).resolve().parents[2]
UNICODE_SAMPLE = REPO / "samples" / "unicode-names.yaml"

SCRIPTS = {
    "accents": "Zoë-Émilie Señor Müller Dagbók höfuðverkja",
    "vietnamese": "Nguyễn Thị Ánh Dương Nhật ký đau đầu",
    "greek": "Αλέξανδρος Παπαδόπουλος Ωμέγα",
    "cyrillic": "Центр инфузионной терапии Евгения Жукова",
    "arabic": "ابنة محمد الحسيني مذكرات الصداع",
}

pytestmark = pytest.mark.skipif(not font_files(), reason="letter fonts not installed "
                                "(make system-deps)")


def test_the_letter_fonts_cover_every_script_in_the_sample() -> None:
    for script, text in SCRIPTS.items():
        assert missing_in_text(text) == (), script
    assert missing_glyphs(load_case(UNICODE_SAMPLE)) == []


@pytest.fixture(scope="module")
def unicode_pdf() -> bytes:
    return Renderer().pdf(load_case(UNICODE_SAMPLE))


def test_unicode_sample_prints_every_name(unicode_pdf: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(unicode_pdf))
    text = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    for word in ("Zoë-Émilie", "Nguyễn Thị Ánh Dương", "Αλέξανδρος Παπαδόπουλος",
                 "Центр инфузионной терапии", "Señor Müller"):
        assert word in text, word
    arabic = re.sub(r"[\u200e\u200f\u202a-\u202e\u2066-\u2069\s;]", "", text)
    for word in ("محمد", "الحسيني", "الصداع"):
        assert word in arabic, word


def test_no_glyph_is_drawn_from_a_notdef(unicode_pdf: bytes) -> None:
    """Every embedded font that the page uses is one of the letter fonts, with a real glyph for
    each character: pypdf maps every drawn glyph back to a character (a missing glyph has none)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(unicode_pdf))
    fonts: set[str] = set()
    for page in reader.pages:
        resources = page["/Resources"].get_object()
        for font in resources.get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+", 1)[-1])
        assert "\ufffd" not in page.extract_text()
    assert fonts, "no fonts embedded"
    assert all(re.match(r"/?(DejaVu|Noto)", name) for name in fonts), fonts


def test_a_character_no_font_has_is_a_warning_naming_the_field() -> None:
    case = load_case(UNICODE_SAMPLE)
    data = case.model_dump(mode="json", by_alias=True)
    data["patient"]["family_name"] = "Tanaka 田中"  # CJK: not in DejaVu or Noto core
    data["prior_therapies"][1]["details"] = "Private use \ue000 here"
    warnings = missing_glyphs(parse_case(data))
    by_path = {w.path: w for w in warnings}
    assert set(by_path) == {"patient.family_name", "prior_therapies[1].details"}
    assert by_path["patient.family_name"].codepoints == (0x7530, 0x4E2D)
    message = by_path["patient.family_name"].message()
    assert message.startswith("patient.family_name: has characters")
    assert "U+7530, U+4E2D" in message and "empty boxes" in message
    assert "Tanaka" not in message  # the field is named, the (PHI) value is not


def test_invisible_characters_are_not_reported() -> None:
    assert missing_in_text("a\u200db\u00adc\u200ed\n\te") == ()


def test_cli_prints_the_glyph_warning(tmp_path: Path) -> None:
    text = UNICODE_SAMPLE.read_text("utf-8").replace("given_name: Zoë-Émilie",
                                                     "given_name: Zoë 田中")
    case = tmp_path / "cjk.yaml"
    case.write_text(text, "utf-8")
    result = CliRunner().invoke(main, ["render", str(case), "-o", str(tmp_path / "cjk.pdf")])
    assert result.exit_code == 0, result.stderr
    assert "warning: patient.given_name: has characters the letter's fonts cannot draw " \
           "(U+7530, U+4E2D)" in result.stderr
    assert (tmp_path / "cjk.pdf").exists()


def test_no_fonts_found_is_itself_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    import priorauth.letter.glyphs as glyphs

    monkeypatch.setattr(glyphs, "coverage", lambda: frozenset())
    [warning] = missing_glyphs(load_case(UNICODE_SAMPLE))
    assert warning == GlyphWarning("", ())
    assert "make system-deps" in warning.message()


def test_coverage_is_read_once() -> None:
    assert coverage() is coverage()
    assert len(coverage()) > 3000
