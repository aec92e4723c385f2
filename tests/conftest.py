"""Shared fixtures: sample paths, rendered sample PDFs (once per session), PDF text extraction."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
GOLDEN = Path(__file__).parent / "golden"
SHARED = REPO.parent / "shared"
VALID_SAMPLES = sorted(p for p in SAMPLES.glob("*.yaml") if p.name != "invalid-case.yaml")


def pytest_configure(config: pytest.Config) -> None:
    """Caches (glyph coverage) go to a fresh folder, never the developer's own ~/.cache."""
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="priorauth-test-cache-")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true",
                     help="rewrite golden files from current output instead of comparing")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


def pdf_pages(data: bytes) -> list[str]:
    """Text of each page (pypdf), whitespace-normalised for robust assertions."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


@pytest.fixture
def sample_data() -> Callable[[str], dict[str, Any]]:
    """A fresh, mutable copy of a sample as plain data, for tests that tweak one field."""

    def load(name: str = "chronic-migraine-with-aura") -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load((SAMPLES / f"{name}.yaml").read_text("utf-8"))
        return data

    return load


@pytest.fixture(scope="session")
def rendered_samples() -> dict[str, bytes]:
    """Every valid sample rendered once with the bundled template."""
    from priorauth import load_case
    from priorauth.letter.render import Renderer

    renderer = Renderer()
    return {p.stem: renderer.pdf(load_case(p)) for p in VALID_SAMPLES}


def apply_changes(data: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``data`` with dotted changes applied in place (``crps__vasomotor__sign=False``);
    a value of None removes the key."""
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for key in parents:
            target = target.setdefault(key, {})
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return data


def yaml_problems(text: str) -> dict[str, str]:
    """``path -> message`` of every problem in a YAML case text ({} when it is valid)."""
    import priorauth

    try:
        priorauth.parse_case(text, format="yaml")
    except priorauth.CaseInvalid as exc:
        return {p.path: p.message for p in exc.problems}
    return {}
