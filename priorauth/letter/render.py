"""Case → HTML (Jinja2, sandboxed) → PDF (WeasyPrint), safely.

Safety rules, each tested:
- Jinja runs sandboxed with autoescape and StrictUndefined, so patient text is always text and a
  template typo is an error rather than a blank.
- WeasyPrint may load only files inside the template folders' ``assets/`` (and small ``data:``
  URIs). Everything else (other paths, http(s), ``file://`` tricks, attachments) stops the
  render with a :class:`RenderError`.
- WeasyPrint is imported on first render, so loading and validating stay fast.

A :class:`Renderer` is meant to be reused: it keeps the Jinja environment, the font configuration
and the fetched assets for every letter it renders (batch workers render thousands).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from priorauth.case.model import Case
from priorauth.errors import CaseInvalid, Problem, RenderError, TemplateError
from priorauth.letter.context import build_context, template_variables
from priorauth.letter.fetcher import RefusedURL, fetcher_class
from priorauth.letter.payer_rules import load_config
from priorauth.letter.pdf import PdfOptions, merge, write_pdf
from priorauth.letter.templates import (
    FAX_COVER,
    KIND_TEMPLATES,
    TEMPLATE_SUFFIX,
    bundled_templates_dir,
    check_template_name,
    load_template,
    make_environment,
    render_within_budget,
    search_path,
    template_location,
)

__all__ = [
    "TEMPLATE_SUFFIX", "FaxInfo", "RefusedURL", "Renderer", "bundled_templates_dir",
    "load_template", "make_environment", "render_html", "render_pdf",
]

DEFAULT_PDF = PdfOptions()


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def _collect_weasyprint_warnings() -> Iterator[_WarningCollector]:
    logger = logging.getLogger("weasyprint")
    collector = _WarningCollector()
    logger.addHandler(collector)
    try:
        yield collector
    finally:
        logger.removeHandler(collector)


@dataclass(frozen=True)
class FaxInfo:
    """What the fax cover sheet knows about the packet it fronts (``fax`` in the template)."""

    total_pages: int
    """Pages in the whole transmission, this cover included."""
    cover_pages: int
    """Pages of the cover sheet itself (normally 1)."""
    document_pages: int
    """Pages of the letter behind the cover."""
    document: str
    """Template role of the letter behind the cover (letter, appeal, peer-to-peer, continuation)."""


_ATTACHMENT = re.compile(
    r"""<[a-z][^>]*\brel\s*=\s*(?:"[^"]*\battachment\b[^"]*"|'[^']*\battachment\b[^']*'"""
    r"""|attachment\b)""", re.I)


def refuse_attachments(html: str) -> None:
    """Only priorauth's own ``case.json`` is ever attached to a letter: a template asking
    WeasyPrint to attach anything (``<link rel="attachment">``, ``<a rel="attachment">``) could
    embed a file or a record value the reader never sees."""
    if _ATTACHMENT.search(html):
        raise TemplateError("the template asks to attach a file to the PDF (rel=\"attachment\"); "
                            "letters may carry no attachment but priorauth's own case.json")


def asset_roots(folders: Sequence[Path]) -> list[Path]:
    """Each template folder's ``assets/``, refused when it (or a link in it) leads outside the
    folder: a link ``assets -> /etc`` would otherwise let a letter load any file there."""
    roots: list[Path] = []
    for folder in folders:
        root = folder / "assets"
        try:
            real_folder, real_root = folder.resolve(), root.resolve()
        except (OSError, RuntimeError) as exc:
            raise TemplateError(f"{root}: cannot be read ({exc})") from None
        if not real_root.is_relative_to(real_folder):
            raise TemplateError(f"{root} leads outside its template folder (a symlink to a "
                                "folder elsewhere); assets must live inside the folder")
        roots.append(root)
    return roots


class Renderer:
    """Renders cases; reuse it for many letters.

    ``template=None`` (the default) picks the template per case: ``letter.kind`` (initial →
    letter, appeal → appeal, peer_to_peer → peer-to-peer), remapped by a payer rule in a
    ``priorauth-templates.yaml`` of the search path. A name forces that template.
    """

    def __init__(self, template: str | None = None, templates_dirs: Sequence[Path] = ()) -> None:
        self.template_name = check_template_name(template) if template else None
        self.search_path = search_path(templates_dirs)
        self.asset_roots = asset_roots(self.search_path)
        self.env = make_environment(self.search_path)
        self.config = load_config(self.search_path)
        self._templates: dict[str, jinja2.Template] = {}
        self._fetcher: Any = None
        self._font_config: Any = None

    # --- templates ------------------------------------------------------------------------

    def template_name_for(self, case: Case, role: str | None = None) -> str:
        """The template this renderer uses for ``case`` (``role`` e.g. ``fax-cover``)."""
        if role is None:
            if self.template_name:
                return self.template_name
            role = KIND_TEMPLATES[case.letter.kind]
        return self.config.template_for(case, role)

    def template_reason(self, case: Case, role: str | None = None) -> str:
        """Why :meth:`template_name_for` picked its template, in words that hold no record value:
        ``--template``, the payer rule (its file and index) or ``letter.kind``."""
        if role is None:
            if self.template_name:
                return "chosen with --template"
            role = KIND_TEMPLATES[case.letter.kind]
        rule = self.config.rule_for(case, role)
        if rule is not None:
            return f"payer rule {rule.label}"
        return "letter.kind, no payer rule matched" if role in KIND_TEMPLATES.values() \
            else "no payer rule matched"

    def get_template(self, name: str) -> jinja2.Template:
        if name not in self._templates:
            self._templates[name] = load_template(self.env, name)
        return self._templates[name]

    # --- HTML -----------------------------------------------------------------------------

    def html(self, case: Case, context: Any = None, *, template: str | None = None,
             extra: dict[str, Any] | None = None) -> str:
        """The letter as HTML (asset URLs are relative to the first template folder)."""
        name = template or self.template_name_for(case)
        self.check_case_assets(case)
        compiled = self.get_template(name)
        context = context or build_context(case)
        variables = {**template_variables(case, context), **(extra or {})}
        try:
            return render_within_budget(compiled, variables)
        except TemplateError:
            raise
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"{self._where(name, exc)}: tried something templates may not "
                                f"do: {exc}") from None
        except jinja2.UndefinedError as exc:
            what = "" if " has no attribute " in (exc.message or "") else \
                "uses an undefined value: "
            raise TemplateError(f"{self._where(name, exc)}: {what}{exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{self._where(name, exc)}: {exc.message}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{self._where(name, exc)}: {exc}") from None
        except (ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
                RecursionError, MemoryError) as exc:  # {{ 1/0 }}, {{ x[99] }} ...: the template's
            raise TemplateError(f"{self._where(name, exc)}: {type(exc).__name__}: "  # mistake
                                f"{str(exc)[:200]}") from None

    def check_case_assets(self, case: Case) -> None:
        """Files the case names in ``assets/`` (``provider.signature_image``) must be there: a
        letter without the signature it was meant to carry is an error, not a blank."""
        name = case.provider.signature_image
        if name is None:
            return
        for root in self.asset_roots:
            path = root / name
            if path.is_file() and path.resolve().is_relative_to(root.resolve()):
                return
        raise CaseInvalid([Problem(
            "provider.signature_image",
            "names an image that is not in the assets/ folder of any template folder ("
            + ", ".join(str(root) for root in self.asset_roots)
            + "); put the file there (or pass --templates-dir) or fix the name", value=name)])

    @staticmethod
    def _where(name: str, exc: BaseException) -> str:
        return template_location(exc) or f"template '{name}'"

    # --- PDF ------------------------------------------------------------------------------

    def document(self, case: Case, context: Any = None, *, template: str | None = None,
                 extra: dict[str, Any] | None = None,
                 options: PdfOptions = DEFAULT_PDF) -> Any:
        """The letter laid out (a WeasyPrint ``Document``): pages can be counted and merged."""
        name = template or self.template_name_for(case)
        html = self.html(case, context, template=name, extra=extra)
        return self._layout(html, self._base_url(name), options)

    def pdf(self, case: Case, context: Any = None, *, pdf_a: bool = True, tagged: bool = False,
            fax_cover: bool = False) -> bytes:
        """The letter as PDF bytes (see :meth:`pdf_and_pages`)."""
        return self.pdf_and_pages(case, context, pdf_a=pdf_a, tagged=tagged,
                                  fax_cover=fax_cover)[0]

    def pdf_and_pages(self, case: Case, context: Any = None, *, pdf_a: bool = True,
                      tagged: bool = False, fax_cover: bool = False) -> tuple[bytes, int]:
        """The letter as PDF bytes and its page count: PDF/A-3b with ``case.json`` embedded
        unless ``pdf_a=False``; with ``fax_cover`` a cover sheet (carrying the packet's real
        page count) goes first."""
        options = PdfOptions(pdf_a=pdf_a, tagged=tagged)
        context = context or build_context(case)
        role = self.template_name or KIND_TEMPLATES[case.letter.kind]
        letter = self.document(case, context, options=options)
        if fax_cover:
            letter = self._with_fax_cover(case, context, letter, role, options)
        refusals = self._fetcher.refusals
        with _collect_weasyprint_warnings() as warnings:
            pdf = write_pdf(letter, case, options)
        self._raise_for(warnings)
        if self._fetcher.refusals != refusals:  # refused while drawing (an SVG <image>) and
            raise RenderError("refused to load "  # swallowed by WeasyPrint: still an error
                              f"{self._fetcher.refused[-1][:120]!r}: a letter may only use "
                              "files from its template's assets/ folder")
        return pdf, len(letter.pages)

    def fax_cover_document(self, case: Case, context: Any, document_pages: int,
                           document: str = "letter",
                           options: PdfOptions = DEFAULT_PDF) -> Any:
        """The cover sheet for a letter of ``document_pages`` pages.

        Laid out until the page count it prints includes its own pages (one pass normally).
        """
        name = self.template_name_for(case, FAX_COVER)
        cover_pages = 1
        for _ in range(3):
            fax = FaxInfo(cover_pages + document_pages, cover_pages, document_pages, document)
            cover = self.document(case, context, template=name, extra={"fax": fax},
                                  options=options)
            if len(cover.pages) == cover_pages:
                return cover
            cover_pages = len(cover.pages)
        raise RenderError(f"the fax cover '{name}' does not settle on a page count")

    def _with_fax_cover(self, case: Case, context: Any, letter: Any, role: str,
                        options: PdfOptions) -> Any:
        cover = self.fax_cover_document(case, context, len(letter.pages), role, options)
        return merge(cover, letter, metadata_from=letter)

    def _layout(self, html: str, base_url: str, options: PdfOptions) -> Any:
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import FatalURLFetchingError

        if self._fetcher is None:
            self._fetcher = fetcher_class()(self.asset_roots)
            self._font_config = FontConfiguration()
        refuse_attachments(html)
        refusals = self._fetcher.refusals
        with _collect_weasyprint_warnings() as warnings:
            try:
                document = HTML(string=html, base_url=base_url, url_fetcher=self._fetcher).render(
                    font_config=self._font_config, **options.render_options())
            except FatalURLFetchingError as exc:
                raise RenderError(str(exc)) from None
        self._raise_for(warnings)
        if self._fetcher.refusals != refusals:
            raise RenderError(f"refused to load {self._fetcher.refused[-1][:120]!r}: a letter "
                              "may only use files from its template's assets/ folder")
        return document

    @staticmethod
    def _raise_for(warnings: _WarningCollector) -> None:
        failed = [m for m in warnings.messages if "load" in m.lower() or "fetch" in m.lower()]
        if failed:
            raise RenderError("the letter refers to something that could not be loaded: "
                              + "; ".join(failed[:3]))

    @property
    def fetcher(self) -> Any:
        """The URL fetcher (tests inspect ``requested`` and ``refused``)."""
        return self._fetcher

    def self_contained_html(self, case: Case, context: Any = None) -> str:
        """The letter as one HTML file: stylesheets and assets inlined through the fetcher."""
        from weasyprint.urls import FatalURLFetchingError

        from priorauth.letter.inline import self_contained

        name = self.template_name_for(case)
        page = self.html(case, context, template=name)
        if self._fetcher is None:
            self._fetcher = fetcher_class()(self.asset_roots)

        def fetch(url: str) -> tuple[bytes, str]:
            try:
                response = self._fetcher.fetch(url)
            except FatalURLFetchingError as exc:
                raise RenderError(str(exc)) from None
            try:
                return bytes(response.read()), str(response.content_type)
            finally:
                response.close()

        return self_contained(page, self._base_url(name), fetch)

    def _base_url(self, name: str) -> str:
        """Base for relative asset URLs: the first template folder that holds the template."""
        filename = self.get_template(name).filename
        folder = Path(filename).parent if filename else self.search_path[-1]
        return folder.as_uri() + "/"


_default: dict[str | None, Renderer] = {}


def _renderer(template: str | None) -> Renderer:
    if template not in _default:
        _default[template] = Renderer(template)
    return _default[template]


def render_html(case: Case, template: str | None = None) -> str:
    """The letter for ``case`` as HTML, using a bundled template (default: per letter kind)."""
    return _renderer(template).html(case)


def render_pdf(case: Case, template: str | None = None) -> bytes:
    """The letter for ``case`` as PDF bytes (PDF/A-3b, case embedded), using a bundled template."""
    return _renderer(template).pdf(case)
