"""Template injection: classic payloads fail with a clear TemplateError (CLI: exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from priorauth import TemplateError, load_case
from priorauth.cli import main
from priorauth.letter.render import Renderer
from tests.conftest import SAMPLES

CASE = SAMPLES / "chronic-migraine-with-aura.yaml"

PAYLOADS = {
    "str-mro": ("{{ ''.__class__.__mro__ }}", "unsafe"),
    "subclasses": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    "cycler-globals": ("{{ cycler.__init__.__globals__.os.popen('id').read() }}", "unsafe"),
    "joiner-globals": ("{{ joiner.__init__.__globals__ }}", "unsafe"),
    "self-context": ("{{ self._TemplateReference__context }}", "unsafe"),
    "model-internals": ("{{ case.model_dump_json() }}", "unsafe"),
    "model-copy": ("{{ patient.model_copy }}", "unsafe"),
    "dict-mutation": ("{% set d = {} %}{{ d.update({'a': 1}) }}", "unsafe"),
    "include-abs": ("{% include '/etc/passwd' %}", "not a name templates may load"),
    "include-dotdot": ("{% include '../../../../etc/passwd' %}", "not a name templates may load"),
    "include-asset": ("{% include 'assets/letter.css' %}", "not a name templates may load"),
    "extends-abs": ("{% extends '/etc/passwd' %}", "not a name templates may load"),
    "import-dotdot": ("{% import '../letter.html.j2' as x %}{{ x }}", "not a name templates may"),
    "from-import-private": ("{% from 'base.html.j2' import __class__ %}{{ __class__ }}",
                            "can not be imported"),
    "lipsum": ("{{ lipsum() }}", "undefined"),
    "safe-filter": ("{{ patient.full_name | safe }}", "No filter named 'safe'"),
    "huge-string": ("{{ 'a' * 100000000 }}", "may not"),
    "huge-power": ("{{ 10 ** 100000 }}", "too large"),
    "config": ("{{ config }}", "undefined"),
}


def _template(folder: Path, body: str) -> Renderer:
    (folder / "evil.html.j2").write_text(body, "utf-8")
    return Renderer(template="evil", templates_dirs=[folder])


@pytest.mark.parametrize("payload,expected", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_injection_payloads_fail_cleanly(tmp_path: Path, payload: str, expected: str) -> None:
    renderer = _template(tmp_path, payload)
    with pytest.raises(TemplateError) as info:
        renderer.html(load_case(CASE))
    message = str(info.value)
    assert expected.lower() in message.lower(), message
    assert "Traceback" not in message


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "passwd.j2").symlink_to("/etc/passwd")
    renderer = _template(tmp_path, "{% include 'passwd.j2' %}")
    with pytest.raises(TemplateError, match="outside its template folder"):
        renderer.html(load_case(CASE))


def test_error_names_file_and_line(tmp_path: Path) -> None:
    renderer = _template(tmp_path, "line one\n{{ ''.__class__ }}\n")
    with pytest.raises(TemplateError, match=r"evil\.html\.j2:2: "):
        renderer.html(load_case(CASE))


@pytest.mark.parametrize("payload", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{% include '/etc/passwd' %}",
])
def test_cli_exits_2_without_traceback(tmp_path: Path, payload: str) -> None:
    (tmp_path / "evil.html.j2").write_text(payload, "utf-8")
    result = CliRunner().invoke(main, ["render", str(CASE), "--template", "evil",
                                       "--templates-dir", str(tmp_path), "--html",
                                       "-o", str(tmp_path / "out.html")])
    assert result.exit_code == 2, result.output
    assert "error:" in result.output and "Traceback" not in result.output
    assert "root:" not in result.output
    assert not (tmp_path / "out.html").exists()


@pytest.mark.parametrize("name", ["../letter", "/etc/passwd", "letter.html", "a b"])
def test_template_names_from_users_are_plain(name: str) -> None:
    with pytest.raises(TemplateError, match="may only use letters"):
        Renderer(template=name)


def test_documented_attributes_still_work(tmp_path: Path) -> None:
    renderer = _template(tmp_path, "{{ patient.full_name }}|{{ ctx.therapy_groups[0].count }}|"
                                   "{{ case.prior_therapies[0].is_failure }}|"
                                   "{{ letter.date.isoformat() }}|{{ ctx.request_codes | length }}")
    assert renderer.html(load_case(CASE)) == "Dana Testpatient|7|True|2026-11-20|3"
