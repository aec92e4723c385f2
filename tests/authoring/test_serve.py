"""``templates serve`` in a real browser: headless Chromium loads the live preview, a template is
edited, and the page shows the change by itself (no reload sent by the test); an error shows in
the page with file:line while the last good letter stays."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from priorauth.authoring.serve import LivePreview

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium not installed (make system-deps)"),
]
websocket = pytest.importorskip("websocket", reason="websocket-client (extra 'test') missing")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Browser:
    """Headless Chromium driven over the DevTools protocol (one page)."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="priorauth-chromium-")
        self.port = _free_port()
        assert CHROMIUM is not None
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={self.profile}",
             f"--remote-debugging-port={self.port}", "--remote-allow-origins=*", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        targets = self._until(self._targets)
        page = next(t for t in targets if t["type"] == "page")
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.ids = 0

    def _targets(self) -> Any:
        with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/json/list", timeout=2) as response:
            return json.loads(response.read())

    @staticmethod
    def _until(probe: Any, seconds: float = 60) -> Any:
        deadline = time.monotonic() + seconds  # a hang guard, not a timing assertion
        while True:
            try:
                value = probe()
                if value:
                    return value
            except Exception:
                if time.monotonic() > deadline:
                    raise
            if time.monotonic() > deadline:
                return None
            time.sleep(0.2)

    def call(self, method: str, **params: Any) -> Any:
        self.ids += 1
        self.socket.send(json.dumps({"id": self.ids, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.ids:
                return message.get("result")

    def text(self) -> str:
        result = self.call("Runtime.evaluate", expression="document.body ? "
                           "document.body.innerText : ''", returnByValue=True)
        return str(result["result"].get("value", ""))

    def wait_for_text(self, needle: str) -> str:
        return str(self._until(lambda: needle in self.text() and self.text()) or self.text())

    def close(self) -> None:
        self.socket.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browser() -> Iterator[_Browser]:
    chromium = _Browser()
    yield chromium
    chromium.close()


def test_live_preview_updates_itself_in_a_browser(tmp_path: Path, browser: _Browser) -> None:
    folder = tmp_path / "payer"
    folder.mkdir()
    template = folder / "letter.html.j2"
    template.write_text('{% extends "priorauth/letter.html.j2" %}'
                        "{% block letterhead %}<p>FIRST-VERSION</p>{{ super() }}{% endblock %}",
                        "utf-8")
    preview = LivePreview(templates_dirs=[folder], template="letter", interval=0.1)
    url = preview.start()
    try:
        assert url.startswith("http://127.0.0.1:")
        browser.call("Page.enable")
        browser.call("Page.navigate", url=url)
        first = browser.wait_for_text("FIRST-VERSION")
        assert "FIRST-VERSION" in first and "Dear Medical Director" in first
        style = browser.call("Runtime.evaluate", returnByValue=True, expression=(
            "getComputedStyle(document.querySelector('h2')).color"))["result"]["value"]
        assert style == "rgb(31, 58, 95)"  # the letter's own stylesheet, inlined

        template.write_text(template.read_text("utf-8").replace("FIRST", "SECOND"), "utf-8")
        second = browser.wait_for_text("SECOND-VERSION")
        assert "SECOND-VERSION" in second and "FIRST-VERSION" not in second

        template.write_text('{% extends "priorauth/letter.html.j2" %}'
                            "{% block letterhead %}{{ patient.no_such_field }}{% endblock %}",
                            "utf-8")
        broken = browser.wait_for_text("no_such_field")
        assert "letter.html.j2:1" in broken and "SECOND-VERSION" in broken  # last good stays
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "letter.pdf", timeout=60)
        assert refused.value.code == 422  # the broken template: no PDF, the reason instead
        refused.value.close()
    finally:
        preview.stop()
