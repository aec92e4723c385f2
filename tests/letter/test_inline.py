"""``render --html`` writes one self-contained file: styled wherever it is opened, loading
nothing from outside the template's assets."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from priorauth.cli import main
from tests.conftest import SAMPLES

SAMPLE = str(SAMPLES / "chronic-migraine-with-aura.yaml")


def test_html_inlines_the_stylesheet(tmp_path: Path) -> None:
    out = tmp_path / "letter.html"
    result = CliRunner().invoke(main, ["render", SAMPLE, "--html", "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text("utf-8")
    assert 'rel="stylesheet"' not in page
    assert "<style>" in page and ".running-header" in page  # the letter's own CSS, inline


def _override(tmp_path: Path, stylesheet_href: str, extra_css: str = "") -> Path:
    folder = tmp_path / "payer"
    (folder / "assets").mkdir(parents=True)
    (folder / "assets" / "logo.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "utf-8")
    (folder / "assets" / "payer.css").write_text(
        f'@import "letter.css";\n.logo {{ background: url("logo.svg"); }}\n{extra_css}', "utf-8")
    (folder / "letter.html.j2").write_text(
        '{% extends "priorauth/letter.html.j2" %}'
        f'{{% block stylesheets %}}<link rel="stylesheet" href="{stylesheet_href}">'
        '{% endblock %}'
        '{% block letterhead %}<img src="assets/logo.svg" alt="logo">{{ super() }}{% endblock %}',
        "utf-8")
    return folder


def test_imports_images_and_fonts_become_data_uris(tmp_path: Path) -> None:
    folder = _override(tmp_path, "assets/payer.css")
    out = tmp_path / "letter.html"
    result = CliRunner().invoke(main, ["render", SAMPLE, "--html", "--templates-dir",
                                       str(folder), "-o", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text("utf-8")
    assert page.count("data:image/svg+xml;base64,") == 2  # the <img> and the CSS url()
    assert ".running-header" in page  # letter.css, @imported from payer.css, inlined too
    assert "assets/" not in page.split("<body", 1)[0]


def test_a_stylesheet_outside_the_assets_is_refused(tmp_path: Path) -> None:
    folder = _override(tmp_path, "../../../../../../etc/hostname")
    out = tmp_path / "letter.html"
    result = CliRunner().invoke(main, ["render", SAMPLE, "--html", "--templates-dir",
                                       str(folder), "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "refused" in result.output and not out.exists()
