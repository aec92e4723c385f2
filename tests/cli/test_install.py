"""A plain, non-editable install must find its templates and data when run from elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES, pdf_pages


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install .` (non-editable) into a private target folder, built from a copy of the repo
    state so the working tree is not touched."""
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-cache-dir", "--target", str(target), str(REPO)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"pip install . failed:\n{result.stderr[-2000:]}")
    return target


def test_installed_package_renders_from_outside_the_repo(installed: Path, tmp_path: Path) -> None:
    case = tmp_path / "case.yaml"
    case.write_bytes((SAMPLES / "crps.yaml").read_bytes())
    env = {**os.environ, "PYTHONPATH": str(installed)}
    code = ("import priorauth, sys; print(priorauth.__file__);"
            "from priorauth.cli import main; main(['render', 'case.yaml', '-o', 'out.pdf'])")
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(installed)), "imported the repo copy, not the install"
    assert "Riley Demo" in pdf_pages((tmp_path / "out.pdf").read_bytes())[0]
    assert (installed / "priorauth" / "templates" / "letter.html.j2").is_file()
    assert (installed / "priorauth" / "templates" / "assets" / "letter.css").is_file()
    assert (installed / "priorauth" / "reference" / "labels.yaml").is_file()
