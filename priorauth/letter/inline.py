"""Self-contained HTML: stylesheets and small assets inlined, so ``render --html`` looks the
same wherever the file is opened (a relative ``assets/letter.css`` link only works beside the
template folder).

Every stylesheet, image and font goes through the letter's asset fetcher, so the rules are the
PDF's: only files inside the template folders' ``assets/`` and small ``data:`` URIs; anything
else stops the render.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Callable
from urllib.parse import urljoin

from priorauth.errors import RenderError

Fetch = Callable[[str], tuple[bytes, str]]
"""URL -> (body, MIME type); raises for anything the letter may not load."""

MAX_INLINED = 2 * 1024 * 1024
"""Bytes of assets one HTML letter may inline (logos and fonts are small)."""

_STYLESHEET = re.compile(
    r"""<link\b(?=[^>]*\brel\s*=\s*["']?stylesheet\b)[^>]*\bhref\s*=\s*(["'])(.*?)\1[^>]*>""",
    re.I | re.S)
_SRC = re.compile(r"""(<img\b[^>]*?\bsrc\s*=\s*)(["'])(.*?)\2""", re.I | re.S)
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)["']?\s*\)?\s*;""")


class _Inliner:
    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self.budget = MAX_INLINED

    def _get(self, url: str) -> tuple[bytes, str]:
        body, mime = self.fetch(url)
        self.budget -= len(body)
        if self.budget < 0:
            raise RenderError(f"the letter's assets are larger than {MAX_INLINED:,} bytes: too "
                              "large to inline into one HTML file")
        return body, mime

    def data_uri(self, url: str) -> str:
        if url.startswith("data:"):
            return url
        body, mime = self._get(url)
        return f"data:{mime};base64,{base64.b64encode(body).decode('ascii')}"

    def css(self, url: str, depth: int = 0) -> str:
        if depth > 4:
            raise RenderError("stylesheets @import each other more than 4 levels deep")
        text = self._get(url)[0].decode("utf-8", "replace")
        text = _CSS_IMPORT.sub(lambda m: self.css(urljoin(url, m.group(1)), depth + 1), text)
        return _CSS_URL.sub(lambda m: f'url("{self.data_uri(urljoin(url, m.group(2)))}")', text)


def self_contained(page: str, base_url: str, fetch: Fetch) -> str:
    """``page`` with each stylesheet link replaced by a ``<style>`` element and each image and
    CSS ``url()`` by a ``data:`` URI, all loaded through ``fetch``."""
    inliner = _Inliner(fetch)

    def style(match: re.Match[str]) -> str:
        css = inliner.css(urljoin(base_url, html.unescape(match.group(2))))
        return "<style>\n" + css.replace("</", "<\\/") + "\n</style>"

    def image(match: re.Match[str]) -> str:
        src = inliner.data_uri(urljoin(base_url, html.unescape(match.group(3))))
        return f"{match.group(1)}{match.group(2)}{src}{match.group(2)}"

    return _SRC.sub(image, _STYLESHEET.sub(style, page))
