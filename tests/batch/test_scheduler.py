"""Batch under a scheduler: SIGTERM ends it like Ctrl-C (report and summary written, exit 143),
small batches use no more workers than records, the report says what produced it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from priorauth.cli import main
from tests.conftest import REPO, SAMPLES

SAMPLE = SAMPLES / "chronic-migraine-with-aura.yaml"


def test_sigterm_writes_the_report_and_exits_143(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    cases.mkdir()
    for number in range(12):
        shutil.copy(SAMPLE, cases / f"case-{number:02}.yaml")
    out, report = tmp_path / "out", tmp_path / "report.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "priorauth", "batch", str(cases), "-o", str(out), "-j", "1",
         "-q", "--report", str(report)], cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.pdf")) and time.monotonic() < deadline:  # a hang guard only
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    data = json.loads(report.read_text())
    assert data["summary"]["interrupted"] == "SIGTERM"
    assert 1 <= data["summary"]["records"] < 12 == len(list(cases.iterdir()))
    assert len(data["records"]) == data["summary"]["records"]
    assert os.stat(report).st_mode & 0o777 == 0o600


def test_report_says_what_produced_it(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["batch", str(SAMPLE), "-o", str(tmp_path / "out"), "-q",
                                       "--report", str(report)])
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())["summary"]
    from priorauth import __version__

    assert summary["priorauth"] == __version__
    assert summary["template"] == "by letter kind" and summary["policy"] == "by diagnosis"
    assert summary["jobs"] == 1  # one record: rendered in this process, no pool
    assert summary["started"] <= summary["finished"] and summary["interrupted"] is None
