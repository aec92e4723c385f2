"""Nothing in a letter may be clipped at the page edge: unbreakable tokens (an OID, a long URL,
a 120-character word) break where they must, and every input string is found whole in the text."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

import priorauth
from tests.conftest import SAMPLES

OID = "urn:oid:2.16.840.1.113883.3.1234567.8901234.5678901.2345678.9012345.6789012.34567"
URL = "https://records.example.org/" + "a1b2c3d4e5" * 9 + "/note.pdf"
WORD = "W" + "x7" * 60


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return re.sub(r"[\s\u200b]+", "", out)  # breaks may add spaces or zero-width spaces


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_long_tokens_are_never_clipped(tmp_path: Path) -> None:
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(
        (SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8")))
    data["prior_therapies"][0]["source"] = OID
    data["prior_therapies"][0]["details"] = f"See {WORD} for the trial."
    data["prior_therapies"][1]["dose"] = WORD[:90]
    data["rationale"] = f"Full record: {URL}"
    data["patient"]["member_id"] = "M" + "1234567890" * 8
    case = priorauth.parse_case(data)
    text = _text(priorauth.render_letter(case, pdf_a=False).data, tmp_path)
    for token in (OID, URL, WORD, WORD[:90], data["patient"]["member_id"]):
        assert token in text, token[:40]
