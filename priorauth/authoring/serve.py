"""``templates serve``: the letter as a live web page for template authors.

A small HTTP server on 127.0.0.1 (never another interface) shows the letter as self-contained
HTML styled by the letter's own stylesheets, with the paged-media parts a browser lacks
approximated (page width and margins, the running header at the top). A watcher re-renders when
a template, an asset or the case file changes; the page asks ``/state`` twice a second and
reloads itself when the letter changed. A render error shows in the page with its file:line while
the last good letter stays visible. ``/letter.pdf`` renders the real PDF.

Everything is rendered through the one letter pipeline, so what the page shows is what
``render`` writes.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from priorauth.authoring.preview import watched_files
from priorauth.authoring.sample import sample_case
from priorauth.errors import PriorAuthError

SCREEN_CSS = """
html { background: #8a8f98; }
body { box-sizing: border-box; width: 8.5in; min-height: 11in; margin: 0.4in auto;
       padding: 0.9in 0.85in 0.85in 0.85in; background: #fff;
       box-shadow: 0 2px 12px rgba(0, 0, 0, .35); display: flex; flex-direction: column; }
.running-header { margin-bottom: 12pt; }
.running-footer { margin-top: 24pt; order: 1; }
#priorauth-error { position: sticky; top: 0; z-index: 10; margin: -0.9in -0.85in 12pt;
                   padding: 8pt 12pt; background: #b00020; color: #fff;
                   font: 10pt "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
#priorauth-bar { position: fixed; right: 10px; bottom: 10px; font: 9pt sans-serif;
                 background: #1f3a5f; color: #fff; padding: 4px 8px; border-radius: 4px; }
#priorauth-bar a { color: #fff; }
"""

RELOADER = """
<div id="priorauth-bar">live preview · <a href="/letter.pdf">PDF</a></div>
<script>
(function () {
  var seen = %d;
  setInterval(function () {
    fetch('/state', {cache: 'no-store'}).then(function (r) { return r.json(); })
      .then(function (s) { if (s.version !== seen) { location.reload(); } })
      .catch(function () {});
  }, 500);
})();
</script>
"""


@dataclass
class _State:
    version: int = 0
    page: str = "<!DOCTYPE html><title>priorauth</title><p>rendering…</p>"
    error: str | None = None


class LivePreview:
    """Renders the letter on every change and serves it; :meth:`start` returns the URL."""

    def __init__(self, *, case_path: Path | None = None, templates_dirs: Sequence[Path] = (),
                 template: str | None = None, interval: float = 0.3) -> None:
        self.case_path = case_path
        self.templates_dirs = list(templates_dirs)
        self.template = template
        self.interval = interval
        self.state = _State()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []

    # --- rendering ----------------------------------------------------------------------

    def _pipeline(self) -> Any:
        from priorauth.letter.pipeline import LetterPipeline

        return LetterPipeline(template=self.template, templates_dirs=self.templates_dirs)

    def render(self) -> None:
        """Render once: a new page on success, an error (over the last page) on failure."""
        try:
            case = sample_case(self.case_path)
            letter = self._pipeline().render(case, fmt="html")
            page, error = letter.data.decode("utf-8"), None
        except PriorAuthError as exc:
            page, error = None, str(exc)
        with self._lock:
            self.state.version += 1
            if page is not None:
                self.state.page = page
            self.state.error = error

    def pdf(self) -> bytes:
        data: bytes = self._pipeline().render(sample_case(self.case_path)).data
        return data

    def page(self) -> str:
        """The current page with the screen stylesheet, the error banner and the reloader."""
        with self._lock:
            page, error, version = self.state.page, self.state.error, self.state.version
        banner = (f'<div id="priorauth-error">{html.escape(error)}</div>' if error else "")
        page = page.replace("</head>", f"<style>{SCREEN_CSS}</style></head>", 1)
        return page.replace("<body>", f"<body>{banner}", 1).replace(
            "</body>", RELOADER % version + "</body>", 1)

    def _watch(self) -> None:
        before = watched_files(self.templates_dirs, self.case_path)
        while not self._stop.wait(self.interval):
            now = watched_files(self.templates_dirs, self.case_path)
            if now != before:
                before = now
                self.render()

    # --- serving ------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        """Render, then serve on 127.0.0.1 (``port=0``: a free port); returns the URL."""
        self.render()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        for target in (self._server.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait(self, until: Callable[[], bool] = lambda: False) -> None:
        """Block until interrupted (Ctrl-C) or ``until()`` is true."""
        while not until():
            time.sleep(0.2)


def _handler(preview: LivePreview) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/":
                self._send(preview.page().encode("utf-8"), "text/html; charset=utf-8")
            elif path == "/state":
                with preview._lock:
                    state = {"version": preview.state.version, "error": preview.state.error}
                self._send(json.dumps(state).encode(), "application/json")
            elif path == "/letter.pdf":
                try:
                    self._send(preview.pdf(), "application/pdf")
                except PriorAuthError as exc:
                    self._send(str(exc).encode(), "text/plain; charset=utf-8",
                               HTTPStatus.UNPROCESSABLE_ENTITY)
            else:
                self._send(b"not found", "text/plain", HTTPStatus.NOT_FOUND)

        def _send(self, body: bytes, kind: str, status: HTTPStatus = HTTPStatus.OK) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy",
                             "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                             "font-src data:; script-src 'unsafe-inline'; connect-src 'self'")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the terminal is for the author's errors, not access logs."""

    return Handler
