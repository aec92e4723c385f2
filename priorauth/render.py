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
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .context import build_context, template_variables
from .errors import RenderError, TemplateError
from .filters import FILTERS
from .models import Case

MAX_DATA_URI = 256 * 1024
TEMPLATE_SUFFIX = ".html.j2"


def bundled_templates_dir() -> Path:
    """The templates shipped with the package (a real folder: the package is installed unzipped)."""
    resource = files("priorauth.templates")
    with as_file(resource) as path:
        return Path(path)


class RefusedURL(Exception):
    """A URL the letter asked WeasyPrint to load that is outside the template's assets."""


def _fetcher_class() -> type:
    """Build the fetcher class lazily: subclassing needs WeasyPrint imported."""
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class FatalRefusal(FatalURLFetchingError):  # type: ignore[misc]
        pass

    class AssetFetcher(URLFetcher):  # type: ignore[misc]
        """Serves files from the allowed asset folders only; remembers every URL it was asked."""

        def __init__(self, roots: Sequence[Path]) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.roots = [root.resolve() for root in roots]
            self.requested: list[str] = []
            self.refused: list[str] = []
            self._cache: dict[str, bytes] = {}
            self._lock = threading.Lock()

        def fetch(self, url: str, headers: Any = None) -> Any:
            self.requested.append(url)
            scheme = urlsplit(url).scheme.lower()
            if scheme == "data" and len(url) <= MAX_DATA_URI:
                return super().fetch(url, headers)
            path = self._allowed_path(url) if scheme == "file" else None
            if path is None:
                self.refused.append(url)
                raise FatalRefusal(f"refused to load {url[:120]!r}: a letter may only use files "
                                   "from its template's assets/ folder")
            with self._lock:
                body = self._cache.get(str(path))
                if body is None:
                    body = path.read_bytes()
                    self._cache[str(path)] = body
            return URLFetcherResponse(url=path.as_uri(), body=body,
                                      headers={"Content-Type": _mime_type(path)})

        def _allowed_path(self, url: str) -> Path | None:
            """Resolve ``url`` inside the asset folders, overlay-style: a file under any
            folder's ``assets/`` is looked up first in the highest-priority folder that has it,
            so an override folder can replace one stylesheet and inherit the rest."""
            parts = urlsplit(url)
            if parts.netloc not in ("", "localhost") or parts.query:
                return None
            try:
                wanted = Path(unquote(parts.path)).resolve()
            except (OSError, RuntimeError, ValueError):
                return None
            relative = next((wanted.relative_to(root) for root in self.roots
                             if wanted.is_relative_to(root)), None)
            if relative is None:
                return None
            for root in self.roots:
                candidate = (root / relative).resolve()
                if candidate.is_relative_to(root) and candidate.is_file():
                    return candidate
            return None

    return AssetFetcher


def _mime_type(path: Path) -> str:
    return {
        ".css": "text/css", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
        ".svg": "image/svg+xml", ".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff",
        ".woff2": "font/woff2",
    }.get(path.suffix.lower(), "application/octet-stream")


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


class Renderer:
    """Renders cases with one template; reuse it for many letters."""

    def __init__(self, template: str = "letter", templates_dirs: Sequence[Path] = ()) -> None:
        self.template_name = template
        self.search_path = [Path(d).resolve() for d in templates_dirs] + [bundled_templates_dir()]
        self.asset_roots = [d / "assets" for d in self.search_path]
        self.env = make_environment(self.search_path)
        self._template: jinja2.Template | None = None
        self._fetcher: Any = None
        self._font_config: Any = None

    @property
    def template(self) -> jinja2.Template:
        if self._template is None:
            self._template = load_template(self.env, self.template_name)
        return self._template

    def html(self, case: Case, context: Any = None) -> str:
        """The letter as HTML (asset URLs are relative to the first template folder)."""
        context = context or build_context(case)
        try:
            return self.template.render(template_variables(case, context))
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"template '{self.template_name}' uses an undefined value: "
                                f"{exc.message}") from None
        except jinja2.exceptions.SecurityError as exc:
            raise TemplateError(f"template '{self.template_name}' tried something templates "
                                f"may not do: {exc}") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"template '{self.template_name}': {exc}") from None

    def pdf(self, case: Case, context: Any = None) -> bytes:
        """The letter as PDF bytes."""
        return self.pdf_from_html(self.html(case, context))

    def pdf_from_html(self, html: str) -> bytes:
        from weasyprint import HTML
        from weasyprint.text.fonts import FontConfiguration
        from weasyprint.urls import FatalURLFetchingError

        if self._fetcher is None:
            self._fetcher = _fetcher_class()(self.asset_roots)
            self._font_config = FontConfiguration()
        base_url = self._base_url()
        with _collect_weasyprint_warnings() as warnings:
            try:
                document = HTML(string=html, base_url=base_url, url_fetcher=self._fetcher)
                pdf = document.write_pdf(font_config=self._font_config,
                                         uncompressed_pdf=False, attachments=[])
            except FatalURLFetchingError as exc:
                raise RenderError(str(exc)) from None
        failed = [m for m in warnings.messages if "load" in m.lower() or "fetch" in m.lower()]
        if failed:
            raise RenderError("the letter refers to something that could not be loaded: "
                              + "; ".join(failed[:3]))
        assert isinstance(pdf, bytes)
        return pdf

    @property
    def fetcher(self) -> Any:
        """The URL fetcher (tests inspect ``requested`` and ``refused``)."""
        return self._fetcher

    def _base_url(self) -> str:
        """Base for relative asset URLs: the first template folder that holds the template."""
        filename = self.template.filename
        folder = Path(filename).parent if filename else self.search_path[-1]
        return folder.as_uri() + "/"


def make_environment(search_path: Sequence[Path]) -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters.update(FILTERS)
    return env


def load_template(env: jinja2.Environment, name: str) -> jinja2.Template:
    """Load ``NAME.html.j2``; the name is user input, so only plain names are accepted."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise TemplateError(f"template name {name!r} may only use letters, digits, '-' and '_'")
    try:
        return env.get_template(name + TEMPLATE_SUFFIX)
    except jinja2.TemplateNotFound:
        raise TemplateError(f"no template named '{name}' (looked for {name}{TEMPLATE_SUFFIX})") \
            from None
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(f"{exc.filename or name}:{exc.lineno}: {exc.message}") from None


_default: dict[str, Renderer] = {}


def _renderer(template: str) -> Renderer:
    if template not in _default:
        _default[template] = Renderer(template)
    return _default[template]


def render_html(case: Case, template: str = "letter") -> str:
    """The letter for ``case`` as HTML, using a bundled template."""
    return _renderer(template).html(case)


def render_pdf(case: Case, template: str = "letter") -> bytes:
    """The letter for ``case`` as PDF bytes, using a bundled template."""
    return _renderer(template).pdf(case)
