"""Template authoring that catches mistakes before the letter (issue 15.5): no None printed,
attribute hints, lint --case, vars for criteria/evidence, which template and rule render used,
payer aliases and ids, templates dump, signature images."""

from __future__ import annotations

import io
import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from priorauth import CaseInvalid, TemplateError, load_case, parse_case
from priorauth.authoring import lint, template_variable_list
from priorauth.authoring.dump import template_inputs
from priorauth.authoring.sample import BARE_SAMPLES, lint_cases
from priorauth.case.model import Case
from priorauth.cli import main
from priorauth.letter.payer_rules import TemplateConfig, parse_config
from priorauth.letter.render import FaxInfo, Renderer
from priorauth.letter.templates import bundled_templates_dir
from tests.conftest import REPO, SAMPLES, pdf_pages

BARE = bundled_templates_dir() / "sample-minimal.yaml"
BARE_APPEAL = bundled_templates_dir() / "sample-minimal-appeal.yaml"
EXAMPLE = REPO / "docs" / "examples" / "example-health-plan"
CRPS = SAMPLES / "crps.yaml"


def _override(folder: Path, body: str, name: str = "letter") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.html.j2").write_text(
        '{% extends "priorauth/letter.html.j2" %}\n' + body, "utf-8")
    return folder


def png_bytes(width: int = 240, height: int = 60) -> bytes:
    """A real RGBA PNG (a drawn wave), built without an imaging library."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            ink = abs(y - (height / 2 + height / 3.5 * math.sin(x / 14))) < 2.2
            row += bytes([0, 0, 0, 255] if ink else [255, 255, 255, 0])
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def _bare_with(**provider: Any) -> Case:
    data = yaml.safe_load(BARE.read_text("utf-8"))
    data["provider"].update(provider)
    return parse_case(yaml.safe_dump(data))


# --- None never reaches output ------------------------------------------------------------


@pytest.mark.parametrize("name,template", [
    (name, template) for name in BARE_SAMPLES
    for template in ("letter", "appeal", "peer-to-peer", "fax-cover")
    if template != "appeal" or "appeal" in name])  # an appeal needs a denial
def test_bundled_templates_render_a_case_without_optional_fields(name: str,
                                                                 template: str) -> None:
    case = load_case(bundled_templates_dir() / name)
    html = Renderer().html(case, template=template, extra={"fax": FaxInfo(4, 1, 3, "letter")})
    assert "None" not in html


def test_bare_samples_leave_every_optional_field_out() -> None:
    case = load_case(BARE)
    assert case.payer.plan is None and case.payer.address is None and case.facility is None
    assert case.provider.fax is None and case.letter.reference is None
    assert not case.requested.codes.cpt and case.requested.schedule is None


def test_printing_none_is_an_error_with_file_and_line(tmp_path: Path) -> None:
    folder = _override(tmp_path, "{% block closing %}\n<p>Your plan {{ payer.plan }}.</p>"
                                 "{% endblock %}")
    with pytest.raises(TemplateError) as info:
        Renderer(templates_dirs=[folder]).html(load_case(BARE))
    message = str(info.value)
    assert message.startswith("letter.html.j2:3: ")
    assert "(None)" in message and "{% if" in message
    result = CliRunner().invoke(main, ["render", str(BARE), "--templates-dir", str(folder),
                                       "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "letter.html.j2:3" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.pdf").exists()


def test_a_present_value_still_prints(tmp_path: Path) -> None:
    folder = _override(tmp_path, "{% block closing %}<p>Plan {{ payer.plan }}.</p>"
                                 "{% endblock %}")
    assert "Plan PPO Gold." in Renderer(templates_dirs=[folder]).html(load_case(CRPS))


# --- attribute errors -----------------------------------------------------------------------


def test_attribute_error_names_the_variable_line_and_suggestion(tmp_path: Path) -> None:
    folder = _override(tmp_path, "{% block criteria %}\n{% for criterion in ctx.criteria %}\n"
                                 "<p>{{ criterion.labl }}</p>{% endfor %}{% endblock %}")
    with pytest.raises(TemplateError) as info:
        Renderer(templates_dirs=[folder]).html(load_case(CRPS))
    assert str(info.value) == ("letter.html.j2:4: criterion has no attribute 'labl'; did you "
                               "mean 'label'?")


def test_attribute_error_on_a_top_level_name(tmp_path: Path) -> None:
    folder = _override(tmp_path, "{% block closing %}{{ provider.npii }}{% endblock %}")
    with pytest.raises(TemplateError, match=r"provider has no attribute 'npii'; did you mean "
                                            r"'npi'\?"):
        Renderer(templates_dirs=[folder]).html(load_case(CRPS))


def test_internals_are_still_refused_not_suggested(tmp_path: Path) -> None:
    folder = _override(tmp_path, "{% block closing %}{{ patient.model_dump() }}{% endblock %}")
    with pytest.raises(TemplateError) as info:
        Renderer(templates_dirs=[folder]).html(load_case(CRPS))
    assert "did you mean" not in str(info.value)


# --- lint --case ----------------------------------------------------------------------------


def test_lint_default_cases_catch_a_missing_plan(tmp_path: Path) -> None:
    folder = _override(tmp_path / "t", "{% block closing %}\n<p>plan {{ payer.plan }}.</p>"
                                       "{% endblock %}")
    problems = lint(folder)
    assert [(p.line, p.message.split(":")[0]) for p in problems] == [
        (3, "when rendering sample-minimal.yaml")]
    assert "(None)" in problems[0].message and problems[0].file.endswith("letter.html.j2")


def test_lint_catches_none_that_slips_past_printing(tmp_path: Path) -> None:
    folder = _override(tmp_path / "t", "{% block closing %}<p>{{ 'plan ' ~ payer.plan }}</p>"
                                       "<p>{{ payer.fax | string }}</p>{% endblock %}")
    problems = lint(folder)
    assert len(problems) == 1 and problems[0].line == 0
    assert "prints the word 'None' that the case does not hold" in problems[0].message
    assert lint(folder, cases=[CRPS]) == []


def test_lint_with_given_cases(tmp_path: Path) -> None:
    folder = _override(tmp_path / "t", "{% block closing %}<p>plan {{ payer.plan }}.</p>"
                                       "{% endblock %}")
    assert lint(folder, cases=[CRPS]) == []  # crps.yaml has a plan
    runner = CliRunner()
    ok = runner.invoke(main, ["templates", "lint", str(folder), "--case", str(CRPS)])
    assert ok.exit_code == 0, ok.stderr
    bad = runner.invoke(main, ["templates", "lint", str(folder), "--case", str(CRPS),
                               "--case", str(BARE)])
    assert bad.exit_code == 1
    assert "letter.html.j2:2: when rendering" in bad.stderr
    assert "sample-minimal.yaml" in bad.stderr
    invalid = runner.invoke(main, ["templates", "lint", str(folder), "--case",
                                   str(SAMPLES / "invalid-case.yaml")])
    assert invalid.exit_code == 2 and "Traceback" not in invalid.stderr


def test_lint_cases_default_covers_every_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    cases = lint_cases()
    names = [name for name, _ in cases]
    assert names[:3] == ["sample-case.yaml", *BARE_SAMPLES]
    assert "samples/crps.yaml" in names and "samples/invalid-case.yaml" not in names
    assert {c.letter.kind.value for _, c in cases} >= {"initial", "appeal"}


def test_lint_reports_attribute_typos_in_loops(tmp_path: Path) -> None:
    folder = _override(tmp_path / "t", "{% block evidence %}{% for e in ctx.evidence %}"
                                       "{{ e.citaton }}{% endfor %}{% endblock %}")
    messages = [p.message for p in lint(folder, cases=[CRPS])]
    assert any("e has no attribute 'citaton'; did you mean 'citation'?" in m for m in messages)


# --- templates vars ------------------------------------------------------------------------


def test_vars_document_criteria_and_evidence() -> None:
    variables = {v.path: v for v in template_variable_list()}
    for path in ("ctx.criteria[].label", "ctx.criteria[].verdict", "ctx.criteria[].summary",
                 "ctx.criteria[].facts[].text", "ctx.evidence[].citation",
                 "ctx.evidence[].summary", "ctx.evidence[].id"):
        assert path in variables and variables[path].description, path
    assert variables["ctx.criteria"].type == "list[CriterionResult]"
    assert "provider.signature_image" in variables and "payer.id" in variables


# --- which template, which rule -------------------------------------------------------------


def test_render_says_which_template_and_rule(tmp_path: Path) -> None:
    runner = CliRunner()
    plain = runner.invoke(main, ["--redact", "render", str(CRPS), "--html",
                                 "-o", str(tmp_path / "a.html")])
    assert plain.exit_code == 0, plain.stderr
    assert "template: letter (letter.kind, no payer rule matched)" in plain.stderr
    aura = SAMPLES / "chronic-migraine-with-aura.yaml"
    ruled = runner.invoke(main, ["--redact", "render", str(aura), "--html", "--templates-dir",
                                 str(EXAMPLE), "-o", str(tmp_path / "b.html")])
    assert ruled.exit_code == 0, ruled.stderr
    assert "template: example-health-letter (payer rule " in ruled.stderr
    assert "priorauth-templates.yaml payers[0])" in ruled.stderr
    payer_name = load_case(aura).payer.name
    assert payer_name not in plain.stderr + ruled.stderr
    forced = runner.invoke(main, ["render", str(CRPS), "--html", "--template", "peer-to-peer",
                                  "-o", str(tmp_path / "c.html")])
    assert "template: peer-to-peer (chosen with --template)" in forced.stderr
    fax = runner.invoke(main, ["--redact", "render", str(aura), "--fax-cover", "--no-pdf-a",
                               "--templates-dir", str(EXAMPLE), "-o", str(tmp_path / "d.pdf")])
    assert fax.exit_code == 0, fax.stderr
    assert "fax cover: fax-cover (no payer rule matched)" in fax.stderr


# --- payer rules: names, aliases, payer id ---------------------------------------------------


def _case(name: str, payer_id: str | None = None, policy_id: str | None = None) -> Case:
    case = load_case(CRPS)
    payer = case.payer.model_copy(update={"name": name, "id": payer_id, "policy_id": policy_id})
    return case.model_copy(update={"payer": payer})


RULES = """\
payers:
  - names: [Acme Health, "ACME  Health   Plan", AH]
    templates: {letter: by-name}
  - payer_id: ["60054", X-12]
    templates: {letter: by-id}
  - name: Solo Plan
    policy_id: MP-1
    templates: {letter: solo-with-policy}
"""


@pytest.mark.parametrize("case,expected", [
    (_case("acme health"), "by-name"),
    (_case("  Acme   HEALTH plan "), "by-name"),
    (_case("ah"), "by-name"),
    (_case("Other Plan", payer_id="60054"), "by-id"),
    (_case("Other Plan", payer_id=" x-12 "), "by-id"),
    (_case("Other Plan", payer_id="60055"), "letter"),
    (_case("Solo Plan", policy_id="mp-1"), "solo-with-policy"),
    (_case("Solo Plan"), "letter"),  # the policy must match as well
    (_case("Acme Healthcare"), "letter"),
])
def test_payer_rules_match_names_aliases_and_ids(tmp_path: Path, case: Case,
                                                 expected: str) -> None:
    rules = parse_config(RULES, tmp_path / "priorauth-templates.yaml")
    assert TemplateConfig(rules).template_for(case, "letter") == expected


def test_an_id_rule_matches_when_the_name_differs(tmp_path: Path) -> None:
    (tmp_path / "priorauth-templates.yaml").write_text(
        "payers:\n  - names: [Nobody]\n    payer_id: ABC\n    templates: {letter: x}\n", "utf-8")
    renderer = Renderer(templates_dirs=[tmp_path])
    case = _case("Somebody", payer_id="abc")
    assert renderer.template_name_for(case) == "x"
    assert renderer.template_reason(case).endswith("priorauth-templates.yaml payers[0]")


@pytest.mark.parametrize("text,message", [
    ("payers:\n  - names: []\n    templates: {letter: x}", "give one text or a list"),
    ("payers:\n  - names: [A, {b: 1}]\n    templates: {letter: x}", "payers[0].names"),
    ("payers:\n  - payer_id: true\n    templates: {letter: x}", "payers[0].payer_id"),
    ("payers:\n  - aliases: [A]\n    templates: {letter: x}", "'names' (or 'name')"),
])
def test_bad_payer_matchers_are_friendly_errors(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("[", r"\[").replace("(", r"\(")
                       .replace(")", r"\)")):
        parse_config(text, tmp_path / "priorauth-templates.yaml")


@settings(max_examples=150, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(["payers", "names", "name", "payer_id",
                                                       "policy_id", "templates", "letter",
                                                       "x"]), inner, max_size=4),
                    max_leaves=12))
def test_parse_config_never_crashes(data: Any) -> None:
    text = yaml.safe_dump(data)
    try:
        rules = parse_config(text, Path("priorauth-templates.yaml"))
    except TemplateError:
        return
    for rule in rules:
        assert rule.names or rule.payer_ids or rule.policy_id is not None
        assert rule.templates


# --- templates dump -------------------------------------------------------------------------


def test_dump_shows_what_the_template_receives(tmp_path: Path) -> None:
    name, variables = template_inputs(load_case(CRPS))
    assert name == "letter"
    assert set(variables) == {"case", "letter", "patient", "payer", "provider", "facility",
                              "primary_diagnosis", "ctx"}
    first = variables["ctx"]["criteria"][0]
    assert set(first) == {"id", "label", "verdict", "summary", "facts", "fields", "met"}
    assert first["verdict"] == "met"
    assert variables["payer"]["plan"] == "PPO Gold"
    assert variables["patient"]["full_name"] == "Riley Demo"  # properties too
    assert "model_fields_set" not in variables["patient"]
    assert variables["ctx"]["evidence"][0]["citation"]


def test_dump_cli_fax_cover_and_redact(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["templates", "dump", str(CRPS), "--template", "fax-cover"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["fax"]["cover_pages"] == 1 and data["fax"]["document"] == "letter"
    assert data["fax"]["total_pages"] == data["fax"]["document_pages"] + 1
    out = tmp_path / "vars.json"
    written = runner.invoke(main, ["templates", "dump", str(CRPS), "-o", str(out)])
    assert written.exit_code == 0 and out.stat().st_mode & 0o777 == 0o600
    redacted = runner.invoke(main, ["--redact", "templates", "dump", str(CRPS)])
    assert redacted.exit_code == 2 and redacted.stdout == ""
    assert "--redact" in redacted.stderr and "Riley" not in redacted.stderr


# --- signature image --------------------------------------------------------------------------


def test_signature_image_prints_above_the_typed_signature(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "dr-lee.png").write_bytes(png_bytes())
    case = _bare_with(signature_image="dr-lee.png")
    renderer = Renderer(templates_dirs=[tmp_path])
    html = renderer.html(case)
    assert html.index('src="assets/dr-lee.png"') < html.index('class="signer"')
    pdf = renderer.pdf(case)
    assert _image_sizes(pdf) == [(240, 60)]  # the PNG itself (its alpha is a soft mask)
    assert "Sincerely, Alex Rivera, MD" in pdf_pages(pdf)[-1]
    assert _image_sizes(renderer.pdf(load_case(BARE))) == []


def _image_sizes(pdf: bytes) -> list[tuple[int, int]]:
    """(width, height) of every image XObject the PDF's pages draw (each object once, through
    nested forms; soft masks are not listed: they hang off their image)."""
    sizes: dict[int, tuple[int, int]] = {}

    def walk(resources: Any) -> None:
        xobjects = (resources or {}).get("/XObject") or {}
        for ref in xobjects.values():
            obj = ref.get_object()
            if obj.get("/Subtype") == "/Image":
                sizes[ref.idnum] = (int(obj["/Width"]), int(obj["/Height"]))
            elif obj.get("/Subtype") == "/Form":
                walk(obj.get("/Resources"))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        walk(page.get("/Resources"))
    return sorted(sizes.values())


def test_missing_signature_image_is_a_clear_error(tmp_path: Path) -> None:
    case_file = tmp_path / "case.yaml"
    data = yaml.safe_load(BARE.read_text("utf-8"))
    data["provider"]["signature_image"] = "dr-nobody.png"
    case_file.write_text(yaml.safe_dump(data), "utf-8")
    with pytest.raises(CaseInvalid) as info:
        Renderer().html(load_case(case_file))
    assert info.value.problems[0].path == "provider.signature_image"
    result = CliRunner().invoke(main, ["--redact", "render", str(case_file),
                                       "-o", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    assert "provider.signature_image: names an image that is not in the assets/" in result.stderr
    assert "dr-nobody" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize("name", ["../dr-lee.png", "assets/dr-lee.png", "/tmp/x.png",
                                  "dr lee.png", "dr-lee.gif", "dr-lee.svg", ".png", "a..png",
                                  "C:\\x.png", "dr-lee.png/.."])
def test_signature_image_must_be_a_bare_image_name(name: str) -> None:
    with pytest.raises(CaseInvalid) as info:
        _bare_with(signature_image=name)
    assert [p.path for p in info.value.problems] == ["provider.signature_image"]
