"""Hostile text in a case prints as plain text: no markup, no template code, no file, no network.

Every payload goes into fields the letter prints (names, addresses, therapy details, sources,
rationale, attachment titles). The renderer's URL fetcher records every URL WeasyPrint asked for;
the only allowed ones are the template's own assets. A listening socket proves nothing dialled out.
"""

from __future__ import annotations

import copy
import io
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from priorauth import parse_case
from priorauth.case.model import Case
from priorauth.errors import CaseInvalid
from priorauth.letter.render import Renderer

REPO = Path(__file__).resolve().parents[2]
SAMPLE: dict[str, Any] = yaml.safe_load(
    (REPO / "samples" / "chronic-migraine-with-aura.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def listener() -> Iterator[socket.socket]:
    """A TCP port on localhost that every network payload points at; nothing may connect."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local file the payloads try to pull in (image, stylesheet, attachment, SVG use)."""
    path = tmp_path_factory.mktemp("secret") / "secret.css"
    path.write_text("html::before { content: 'CANARY-7f3a-LEAKED'; }\n", "utf-8")
    return path


def payloads(port: int, secret: Path) -> dict[str, str]:
    web = f"http://127.0.0.1:{port}"
    local = secret.as_uri()
    return {
        "html": "<b>bold</b><i>it</i></td></tr></table><h1>Injected heading</h1>",
        "script": "<script>document.write('pwned')</script>",
        "img_file": f'<img src="{local}"><img src=file:///etc/passwd>',
        "img_web": f'<img src="{web}/pixel.png" width=1 height=1>',
        "link_attachment": (f'<link rel="attachment" href="{local}">'
                            f'<a rel=attachment href="{web}/a">x</a>'),
        "link_css": f'<link rel="stylesheet" href="{local}">',
        "style_import": (f"<style>@import url({web}/x.css); "
                         f"body {{ background: url({web}/b.png) }}</style>"),
        "css_url": f"url({web}/bg.png) url('{local}')",
        "style_attr": f'" style="background:url({web}/attr.png)" x="',
        "svg": (f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{web}/s.png"/>'
                f'<use href="{local}#x"/></svg>'),
        "object": f'<object data="{local}"></object><iframe src="{web}/f"></iframe>',
        "jinja_expr": "{{ 7*7 }}",
        "jinja_stmt": "{% for x in range(3) %}LOOP{% endfor %}{{ ''.__class__.__mro__ }}",
        "jinja_comment": "{# hidden #} {{ config }} {{ self }}",
        "entities": "&lt;b&gt; &amp; &#x41; &nbsp;",
        "cdata": "<![CDATA[ x ]]> <!-- comment --> <?php echo 1; ?>",
    }


# Printed fields that take a short single-line value (<= 200 characters).
NAME_FIELDS = [
    ("patient", "given_name"), ("patient", "family_name"), ("payer", "name"),
    ("provider", "practice"), ("provider", "name"), ("payer", "attention"),
    ("letter", "reference"), ("burden", "source"),
]


def hostile_case(port: int, secret: Path) -> tuple[Case, dict[str, str]]:
    """The sample with every payload placed in printed fields; returns the case and placements."""
    data = copy.deepcopy(SAMPLE)
    texts = payloads(port, secret)
    placed: dict[str, str] = {}
    for index, (key, text) in enumerate(texts.items()):
        section, field = NAME_FIELDS[index % len(NAME_FIELDS)]
        if index < len(NAME_FIELDS):
            data[section][field] = text
        therapy = data["prior_therapies"][index % len(data["prior_therapies"])]
        therapy["details"] = f"{therapy.get('details', '')} [{key}] {text}"
        therapy["source"] = text
        placed[key] = text
    data["rationale"] = "\n\n".join(f"[{key}] {text}" for key, text in texts.items())
    data["attachments"] = [{"title": text} for text in list(texts.values())[:10]]
    return parse_case(data), placed


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def rendered(listener: socket.socket, secret_file: Path) -> dict[str, Any]:
    port = listener.getsockname()[1]
    case, placed = hostile_case(port, secret_file)
    renderer = Renderer("letter")
    html = renderer.html(case)
    pdf = renderer.pdf(case)
    return {"case": case, "placed": placed, "html": html, "pdf": pdf, "renderer": renderer}


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_every_payload_prints_literally(rendered: dict[str, Any]) -> None:
    text = squash(pdf_text(rendered["pdf"]))
    for key, payload in rendered["placed"].items():
        assert squash(payload) in text, key


def test_jinja_syntax_is_not_evaluated(rendered: dict[str, Any]) -> None:
    text = pdf_text(rendered["pdf"])
    assert "{{ 7*7 }}" in text or "{{7*7}}" in squash(text)
    assert "49" not in re.findall(r"\d+", text.split("jinja_expr")[1][:40])
    assert "LOOPLOOP" not in squash(text)
    assert "<class" not in text


def test_markup_is_escaped_in_html(rendered: dict[str, Any]) -> None:
    html = rendered["html"]
    for tag in ("<script", "<img", "<svg", "<iframe", "<object", "<h1>Injected", "<style>@import",
                '<link rel="attachment"'):
        assert tag not in html, tag
    assert "&lt;script&gt;" in html
    assert "&#34; style=&#34;" in html or "&quot; style=&quot;" in html


def test_no_url_but_the_templates_own_assets_was_requested(rendered: dict[str, Any]) -> None:
    fetcher = rendered["renderer"].fetcher
    roots = [root.resolve() for root in rendered["renderer"].asset_roots]
    assert fetcher.requested, "the stylesheet itself should have been fetched"
    assert not fetcher.refused
    for url in fetcher.requested:
        assert url.startswith("file://"), url
        path = Path(url[len("file://"):]).resolve()
        assert any(path.is_relative_to(root) for root in roots), url
    assert not any("secret" in url or "passwd" in url or "127.0.0.1" in url
                   for url in fetcher.requested)


def test_no_network_connection_was_attempted(rendered: dict[str, Any],
                                             listener: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_no_local_file_content_reached_the_pdf(rendered: dict[str, Any]) -> None:
    text = pdf_text(rendered["pdf"])
    assert "CANARY-7f3a-LEAKED" not in text
    assert "root:x:0:0" not in text


def test_no_attachment_or_link_was_embedded(rendered: dict[str, Any]) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(rendered["pdf"]))
    # PDF/A letters may carry the case itself as case.json; nothing a payload named.
    assert set(reader.attachments) <= {"case.json"}
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            uri = str(action.get("/URI", ""))
            assert "127.0.0.1" not in uri and "file:" not in uri, uri


def test_case_ids_cannot_name_files_outside_the_output_folder() -> None:
    for bad in ("../escape", "..", "/etc/passwd", "a/b", "a\\b", ".hidden", "x\x00y", "~root",
                "a" * 65, "", " ", "CON:", "a b"):
        data = copy.deepcopy(SAMPLE)
        data["id"] = bad
        with pytest.raises(CaseInvalid) as info:
            parse_case(data)
        assert any(p.path == "id" for p in info.value.problems), bad


def test_template_name_from_the_command_line_cannot_escape() -> None:
    from priorauth.errors import TemplateError

    for bad in ("../letter", "/etc/passwd", "letter/../../x", "..", "letter.html"):
        with pytest.raises(TemplateError):
            Renderer(bad).html(parse_case(copy.deepcopy(SAMPLE)))
