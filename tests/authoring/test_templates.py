"""Template authoring: overrides, payer rules, letter kinds, fax cover, author tools."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from priorauth import CaseInvalid, TemplateError, load_case, parse_case
from priorauth.authoring import lint, list_templates, variables_markdown, watch, watched_files
from priorauth.case.model import LetterKind
from priorauth.cli import main
from priorauth.letter.render import Renderer
from priorauth.letter.templates import bundled_templates_dir
from tests.conftest import REPO, SAMPLES, pdf_pages

SampleData = Callable[[str], dict[str, Any]]
EXAMPLE = REPO / "docs" / "examples" / "example-health-plan"
AURA = SAMPLES / "chronic-migraine-with-aura.yaml"
APPEAL = SAMPLES / "appeal.yaml"


def _with_kind(path: Path, kind: LetterKind) -> Any:
    case = load_case(path)
    return case.model_copy(update={"letter": case.letter.model_copy(update={"kind": kind})})


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.fixture(scope="module")
def appeal_packet(renderer: Renderer) -> bytes:
    return renderer.pdf(load_case(APPEAL), fax_cover=True)


# --- overrides and selection ------------------------------------------------------------------

def test_example_folder_changes_one_block_for_one_payer_and_lints_clean() -> None:
    assert lint(EXAMPLE) == []
    renderer = Renderer(templates_dirs=[EXAMPLE])
    case = load_case(AURA)
    assert renderer.template_name_for(case) == "example-health-letter"
    html = renderer.html(case)
    assert "eh-letterhead" in html and "Please send the determination" in html
    bundled = Renderer().html(case)
    assert "eh-letterhead" not in bundled and "Please send the determination" not in bundled
    # Everything else is the bundled letter, unchanged.
    assert html.count("<h2>") == bundled.count("<h2>")
    other = case.model_copy(update={"payer": case.payer.model_copy(update={"name": "Other Plan"})})
    assert renderer.template_name_for(other) == "letter"
    text = " ".join(pdf_pages(renderer.pdf(case)))
    assert "Please send the determination for this request (reference PA-2026-0113)" in text
    assert any(u.endswith("/example-health-logo.svg") for u in renderer.fetcher.requested)


def test_policy_rule_beats_name_rule(tmp_path: Path) -> None:
    (tmp_path / "priorauth-templates.yaml").write_text(
        "payers:\n"
        "  - name: example health plan (SYNTHETIC)\n    templates: {appeal: by-name}\n"
        "  - policy_id: MP-KET-07\n    templates: {appeal: by-policy}\n", "utf-8")
    renderer = Renderer(templates_dirs=[tmp_path])
    assert renderer.template_name_for(load_case(APPEAL)) == "by-policy"
    assert renderer.template_name_for(load_case(AURA)) == "letter"  # no rule for 'letter'


@pytest.mark.parametrize("text,message", [
    ("payers: {a: 1}", "must be a list"),
    ("payers:\n  - templates: {letter: x}",
     "give the payer's 'names', a 'payer_id' or a 'policy_id'"),
    ("payers:\n  - name: A\n    templates: {cover: x}", "unknown role 'cover'"),
    ("payers:\n  - name: A\n    templates: {letter: ../x}", "is not a template name"),
    ("payers: [", "not valid YAML"),
])
def test_bad_config_is_a_friendly_error(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "priorauth-templates.yaml").write_text(text, "utf-8")
    with pytest.raises(TemplateError, match=re.escape(message)):
        Renderer(templates_dirs=[tmp_path])


def test_env_var_folders_come_after_templates_dir(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for folder, word in ((first, "FIRST"), (second, "SECOND")):
        folder.mkdir()
        (folder / "hello.html.j2").write_text(word, "utf-8")
    runner = CliRunner()
    out = tmp_path / "out.html"
    result = runner.invoke(main, ["render", str(AURA), "--template", "hello", "--html", "-o",
                                  str(out)], env={"PRIORAUTH_TEMPLATES": str(second)})
    assert result.exit_code == 0, result.output
    assert out.read_text() == "SECOND"
    result = runner.invoke(main, ["render", str(AURA), "--template", "hello", "--html", "-o",
                                  str(out), "--templates-dir", str(first)],
                           env={"PRIORAUTH_TEMPLATES": str(second)})
    assert out.read_text() == "FIRST"
    result = runner.invoke(main, ["render", str(AURA), "--html", "-o", str(out)],
                           env={"PRIORAUTH_TEMPLATES": str(tmp_path / "missing")})
    assert result.exit_code == 2 and "PRIORAUTH_TEMPLATES" in result.output


def test_bundled_prefix_lets_a_folder_replace_and_extend_base(tmp_path: Path) -> None:
    (tmp_path / "base.html.j2").write_text(
        '{% extends "priorauth/base.html.j2" %}{% block letterhead %}<p>HOUSE LETTERHEAD</p>'
        "{% endblock %}", "utf-8")
    assert lint(tmp_path) == []
    html = Renderer(templates_dirs=[tmp_path]).html(load_case(APPEAL))
    assert "HOUSE LETTERHEAD" in html and "Reason given for the denial" in html


@pytest.mark.parametrize("kind,template", [(LetterKind.initial, "letter"),
                                           (LetterKind.appeal, "appeal"),
                                           (LetterKind.peer_to_peer, "peer-to-peer")])
def test_letter_kind_picks_the_template(renderer: Renderer, kind: LetterKind,
                                        template: str) -> None:
    assert renderer.template_name_for(_with_kind(APPEAL, kind)) == template
    assert Renderer(template="letter").template_name_for(_with_kind(APPEAL, kind)) == "letter"


def test_appeal_requires_a_denial(sample_data: SampleData) -> None:
    data = sample_data("chronic-migraine-with-aura")
    data["letter"]["kind"] = "appeal"
    with pytest.raises(CaseInvalid) as info:
        parse_case(data)
    [problem] = info.value.problems
    assert problem.path == "letter.denial" and "required for an appeal" in problem.message


# --- the new letter kinds -------------------------------------------------------------------

def test_appeal_packet_starts_with_a_fax_cover_counting_every_page(appeal_packet: bytes) -> None:
    pages = pdf_pages(appeal_packet)
    cover = pages[0]
    assert (f"Pages {len(pages)} pages including this cover sheet (1 cover + "
            f"{len(pages) - 1} document)") in cover
    for expected in ("To Appeals and Grievances Example Health Plan (synthetic)",
                     "Fax (555) 010-0110", "From Alex Rivera, MD", "Fax (555) 010-0201",
                     "Re Appeal of denial of prior authorization", "Member ID XQZ000123456",
                     "Denial UM-DEN-2026-55812, dated 12/04/2026", "Confidentiality notice",
                     "3 enclosures (27 pages as recorded)"):
        assert expected in cover, expected
    assert "Dana" not in cover and "G43" not in cover  # no clinical details on the cover
    assert "Page 1 of" in pages[1]  # the letter keeps its own numbering


def test_appeal_letter_content(appeal_packet: bytes) -> None:
    case = load_case(APPEAL)
    denial = case.letter.denial
    assert denial is not None
    text = " ".join(pdf_pages(appeal_packet)[1:])
    assert "RE: Appeal of denial of prior authorization" in text
    assert "to appeal your denial dated December 4, 2026 (reference UM-DEN-2026-55812)" in text
    assert " ".join(denial.reason.split()) in text
    for rebuttal in denial.rebuttals:
        assert rebuttal.point in text
        assert " ".join(rebuttal.response.split()) in text
    assert "peer-to-peer review with the physician reviewer" in text
    assert "external review" in text
    for therapy in case.prior_therapies:
        assert therapy.name in text


def test_peer_to_peer_summary_is_one_page(renderer: Renderer) -> None:
    for path in (APPEAL, SAMPLES / "chronic-migraine-after-cgrp-botox.yaml"):
        case = _with_kind(path, LetterKind.peer_to_peer)
        pages = pdf_pages(renderer.pdf(case, pdf_a=False))
        assert len(pages) == 1, path
        text = pages[0]
        assert "Peer-to-peer review summary" in text
        failed = sum(t.is_failure for t in case.prior_therapies)
        assert f"Prior therapies: {failed} of {len(case.prior_therapies)} failed" in text
        for therapy in case.prior_therapies:
            assert therapy.name in text
    assert "Points to make" in text or "Stated reason" not in text


def test_fax_cover_count_matches_a_letter_of_any_length(renderer: Renderer) -> None:
    case = load_case(SAMPLES / "fails-criteria.yaml")
    packet = renderer.pdf(case, fax_cover=True, pdf_a=False)
    total = len(PdfReader(io.BytesIO(packet)).pages)
    assert f"Pages {total} pages including this cover sheet" in pdf_pages(packet)[0]
    assert "Denial" not in pdf_pages(packet)[0]


# --- author tools ---------------------------------------------------------------------------

def test_lint_reports_each_kind_of_problem(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "bad.html.j2").write_text(
        '{% extends "letter.html.j2" %}\n'
        '{% block letterhed %}<img src="assets/logo.png">{{ patient.fulname }}{% endblock %}\n'
        '{% block closing %}{{ payer.name | shout }} {{ nope }}'
        '<link href="http://x/y.css">{% endblock %}\n', "utf-8")
    (tmp_path / "broken.html.j2").write_text("{% if x %}\n{{ oops }\n", "utf-8")
    (tmp_path / "letter.html.j2").write_text('{% extends "base.html.j2" %}'
                                             "{% block body %}x{% endblock %}", "utf-8")
    (tmp_path / "assets" / "x.css").write_text("p { background: url(missing.png) }", "utf-8")
    found = [p.format() for p in lint(tmp_path)]
    expected = [
        r"bad\.html\.j2:2: block 'letterhed' is not defined .* \(did you mean 'letterhead'\?\)",
        r"bad\.html\.j2:2: 'patient\.fulname' is not a template variable \(did you mean "
        r"'patient\.full_name'\?\)",
        r"bad\.html\.j2:2: asset 'assets/logo\.png' does not exist",
        r"bad\.html\.j2:3: unknown filter 'shout'",
        r"bad\.html\.j2:3: undefined variable 'nope'",
        r"bad\.html\.j2:3: 'http://x/y\.css' would be refused",
        r"broken\.html\.j2:2: syntax error: unexpected '}'",
        r"letter\.html\.j2:1: replaces the bundled 'letter\.html\.j2' but lacks its block\(s\) "
        r"burden, closing",
        r"x\.css:1: asset 'assets/missing\.png' does not exist",
    ]
    for pattern in expected:
        assert any(re.search(pattern, line) for line in found), (pattern, found)
    result = CliRunner().invoke(main, ["templates", "lint", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "problems" in result.output


def test_lint_passes_on_the_bundled_templates() -> None:
    assert lint(bundled_templates_dir()) == []
    result = CliRunner().invoke(main, ["templates", "lint", str(EXAMPLE)])
    assert result.exit_code == 0, result.output


def test_list_shows_overrides_and_descriptions(tmp_path: Path) -> None:
    (tmp_path / "letter.html.j2").write_text("{#- description: Our letter. -#}x", "utf-8")
    infos = list_templates([tmp_path])
    names = [(i.name, i.bundled, i.overrides) for i in infos]
    assert names[0] == ("letter", False, False)
    assert ("letter", True, True) in names
    assert {"appeal", "peer-to-peer", "fax-cover"} <= {i.name for i in infos}
    result = CliRunner().invoke(main, ["templates", "list", "--templates-dir", str(tmp_path)])
    assert result.exit_code == 0
    assert "Our letter." in result.output and "hidden by an override" in result.output
    assert "Fax cover sheet" in result.output


def test_variables_doc_is_up_to_date() -> None:
    committed = (REPO / "docs" / "template-variables.md").read_text("utf-8")
    assert committed == variables_markdown(), (
        "docs/template-variables.md is stale: run "
        "`priorauth templates vars --markdown > docs/template-variables.md`")
    result = CliRunner().invoke(main, ["templates", "vars"])
    assert "ctx.therapy_groups[].classes[].rows[].weeks" in result.output
    assert "letter.denial.rebuttals[].response" in result.output


def test_preview_renders_the_sample_and_reports_time(tmp_path: Path) -> None:
    out = tmp_path / "p.pdf"
    result = CliRunner().invoke(main, ["templates", "preview", "appeal", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert re.search(r"rendered .*p\.pdf in \d+\.\d\d s, \d+ pages", result.output)
    assert "Reason given for the denial" in " ".join(pdf_pages(out.read_bytes()))
    result = CliRunner().invoke(main, ["templates", "preview", "nope", "-o", str(out)])
    assert result.exit_code == 2 and "no template named 'nope'" in result.output


def test_watch_rerenders_on_save(tmp_path: Path) -> None:
    template = tmp_path / "mine.html.j2"
    template.write_text("one", "utf-8")
    results: list[Any] = []
    ticks = iter(range(100))

    def render_once() -> str:
        return template.read_text("utf-8")

    def fake_sleep(_: float) -> None:
        tick = next(ticks)
        if tick == 2:  # an author saves after a while
            template.write_text("two!", "utf-8")
        if tick == 4:
            template.write_text("{{ broken", "utf-8")

    watch(render_once, lambda: watched_files([tmp_path], None), results.append,
          max_renders=3, sleep=fake_sleep)
    assert results == ["one", "two!", "{{ broken"]


def test_preview_watch_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["templates", "preview", "fax-cover", "--watch",
                                       "--max-renders", "1", "-o", str(tmp_path / "f.pdf")])
    assert result.exit_code == 0, result.output
    assert "watching for changes" in result.output and "rendered" in result.output


def test_bundled_preview_case_is_the_appeal_sample() -> None:
    bundled = (bundled_templates_dir() / "sample-case.yaml").read_text("utf-8")
    assert bundled == APPEAL.read_text("utf-8")
