"""Batch under a scheduler: SIGTERM ends it like Ctrl-C (report and summary written, exit 143),
small batches use no more workers than records, the report says what produced it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from priorauth.batch import MANIFEST_NAME, default_jobs, render_many
from priorauth.cli import main
from tests.conftest import REPO, SAMPLES

SAMPLE = SAMPLES / "chronic-migraine-with-aura.yaml"


@pytest.mark.parametrize(("jobs", "whole_group"), [("1", False), ("2", False), ("2", True)],
                         ids=["in-process", "pool", "pool-process-group"])
def test_sigterm_writes_the_report_and_exits_143(tmp_path: Path, jobs: str,
                                                 whole_group: bool) -> None:
    """SIGTERM to the batch (or, as a shell or systemd may, to its whole process group): the
    records in flight are finished or abandoned, every record reported has its PDF and its
    manifest line, the report and the summary line are written, exit 143."""
    cases = tmp_path / "cases"
    cases.mkdir()
    for number in range(12):
        shutil.copy(SAMPLE, cases / f"case-{number:02}.yaml")
    out, report = tmp_path / "out", tmp_path / "report.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "priorauth", "batch", str(cases), "-o", str(out), "-j", jobs,
         "-q", "--report", str(report)], cwd=REPO, stderr=subprocess.PIPE, text=True,
        start_new_session=whole_group)
    deadline = time.monotonic() + 120
    while not list(out.glob("*.pdf")) and time.monotonic() < deadline:  # a hang guard only
        time.sleep(0.05)
    if whole_group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and "--resume" in stderr
    data = json.loads(report.read_text())
    assert data["summary"]["interrupted"] == "SIGTERM"
    assert 1 <= data["summary"]["records"] < 12 == len(list(cases.iterdir()))
    assert len(data["records"]) == data["summary"]["records"]
    assert os.stat(report).st_mode & 0o777 == 0o600
    manifest = {json.loads(line)["output"]: json.loads(line)
                for line in (out / MANIFEST_NAME).read_text().splitlines()}
    for record in data["records"]:
        pdf = Path(record["output"])
        assert manifest[pdf.name]["sha256"] == record["sha256"]
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == record["sha256"]
    # Run again with --resume: what was reported is not rendered again, the rest is.
    again = subprocess.run([sys.executable, "-m", "priorauth", "batch", str(cases), "-o",
                            str(out), "-j", jobs, "-q", "--resume", "--report", str(report)],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    done = json.loads(report.read_text())["records"]
    assert len(done) == 12 and all(r["status"] == "rendered" for r in done)
    assert sum(bool(r.get("resumed")) for r in done) >= data["summary"]["records"]


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


def test_report_names_template_policy_and_warnings_per_record(tmp_path: Path) -> None:
    data = yaml.safe_load(SAMPLE.read_text("utf-8"))
    data["id"] = "with-warning"
    data["diagnoses"][0]["description"] = "Something else entirely"  # disagrees with ICD-10-CM
    case = tmp_path / "with-warning.yaml"
    case.write_text(yaml.safe_dump(data), "utf-8")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["batch", str(SAMPLE), str(case), str(SAMPLES / "crps.yaml"),
                                       "-o", str(tmp_path / "out"), "-q", "--report",
                                       str(report)])
    assert result.exit_code in (0, 1), result.output
    written = json.loads(report.read_text())
    records = {r["id"]: r for r in written["records"]}
    # every bundled-policy letter warns that it cites the generic policy (payer.policy_id)
    assert records["with-warning"]["warnings"] == ["diagnoses[0].description", "payer.policy_id"]
    assert "Something else" not in report.read_text()  # paths only, never the record's words
    assert records["sample-cm-aura"]["warnings"] == ["payer.policy_id"]
    for record in records.values():
        assert record["template"] == "letter" and record["policy"]
    summary = written["summary"]
    assert summary["templates_used"] == ["letter"] and summary["with_warnings"] == 3
    assert summary["policies_used"] == sorted({r["policy"] for r in records.values()})
    assert len(summary["policies_used"]) == 2  # migraine and CRPS


def test_default_jobs_fit_the_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cores = os.cpu_count() or 1
    assert default_jobs(1) == 1 and default_jobs(0) == 1
    assert default_jobs(None) == cores == default_jobs(10**6)
    assert default_jobs(2) == min(2, cores)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise AssertionError("one record must render in this process, with no worker pool")

    monkeypatch.setattr("priorauth.batch._Pool", no_pool)
    results = list(render_many([SAMPLE], tmp_path / "api"))
    assert [r.status for r in results] == ["rendered"]
    cli = CliRunner().invoke(main, ["batch", str(SAMPLE), "-o", str(tmp_path / "cli"), "-q"])
    assert cli.exit_code == 0, cli.output
