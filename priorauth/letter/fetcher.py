"""The only way a letter can load anything: files inside its template folders' ``assets/``.

WeasyPrint asks this fetcher for every stylesheet, image and font a letter names. It serves
files under the template folders' ``assets/`` (overlay: an override folder's asset wins) and
small ``data:`` URIs; anything else (other paths, http(s), ``file://`` tricks) stops the render.
WeasyPrint is imported on first use, so validating cases never loads it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_DATA_URI = 256 * 1024
MAX_ASSET = 16 * 1024 * 1024
"""Largest asset file (stylesheet, image, font) a letter may load."""
AUDIT_TRAIL = 256


class RefusedURL(Exception):
    """A URL the letter asked WeasyPrint to load that is outside the template's assets."""


def fetcher_class() -> type:
    """Build the fetcher class lazily: subclassing needs WeasyPrint imported."""
    from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

    class FatalRefusal(FatalURLFetchingError):  # type: ignore[misc]
        pass

    class AssetFetcher(URLFetcher):  # type: ignore[misc]
        """Serves files from the allowed asset folders only; remembers every URL it was asked."""

        def __init__(self, roots: Sequence[Path]) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.roots = [root.resolve() for root in roots]
            # The most recent URLs asked for / refused (an audit trail for tests and debugging),
            # bounded so a batch worker rendering thousands of letters does not grow it forever.
            self.requested: deque[str] = deque(maxlen=AUDIT_TRAIL)
            self.refused: deque[str] = deque(maxlen=AUDIT_TRAIL)
            self.refusals = 0
            """Every refusal counted, so a caller can tell whether WeasyPrint swallowed one."""
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
                self.refusals += 1
                raise FatalRefusal(f"refused to load {url[:120]!r}: a letter may only use files "
                                   "from its template's assets/ folder")
            with self._lock:
                body = self._cache.get(str(path))
                if body is None:
                    if path.stat().st_size > MAX_ASSET:
                        self.refused.append(url)
                        self.refusals += 1
                        raise FatalRefusal(f"refused to load {path.name!r}: an asset may be at "
                                           f"most {MAX_ASSET:,} bytes")
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
