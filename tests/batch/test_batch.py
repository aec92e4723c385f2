"""priorauth batch: report, exit codes, names, resume, kill -9, worker crashes, no PHI."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from priorauth.batch import MANIFEST_NAME, BatchError, RecordResult, Unmet, render_many
from priorauth.batch.inputs import safe_stem
from priorauth.batch.manifest import OutputNames
from priorauth.cli import main
from tests.conftest import REPO, SAMPLES

PRIORAUTH = [sys.executable, "-m", "priorauth"]
# The resume tests pin the "code + templates + reference data" part of the input hash: other
# work in a shared tree may edit a template between two runs, which (rightly) forces a re-render.
PINNED = [sys.executable, "-c", "import sys, priorauth.batch as b, priorauth.cli as c; "
          "b.fingerprint = lambda *a: b'pinned'; sys.argv[0] = 'priorauth'; c.main()"]
SAMPLE = SAMPLES / "chronic-migraine-with-aura.yaml"
INVALID = SAMPLES / "invalid-case.yaml"


def sample(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SAMPLE.read_text("utf-8"))
    data.update(changes)
    return data


def ndjson(records: list[Any]) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, default=str)) + "\n"
                   for r in records)


def page_count(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(path.read_bytes())).pages)


def phi(data: dict[str, Any]) -> list[str]:
    patient = data["patient"]
    return [patient["given_name"], patient["family_name"], str(patient["member_id"]),
            str(patient["date_of_birth"])]


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("priorauth.batch.fingerprint", lambda *a: b"pinned")


def test_batch_samples_folder(tmp_path: Path, pinned: None) -> None:
    out, report = tmp_path / "out", tmp_path / "r.json"
    result = CliRunner().invoke(main, ["batch", str(SAMPLES), "-o", str(out), "-j", "2",
                                       "--report", str(report)])
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text("utf-8"))
    records = {Path(r["source"]).name: r for r in data["records"]}
    expected = sorted(p.name for p in SAMPLES.iterdir()
                      if p.suffix in (".yaml", ".yml", ".json") and not p.name.startswith("."))
    assert sorted(records) == expected
    assert [r["index"] for r in data["records"]] == list(range(len(expected)))
    invalid = records.pop("invalid-case.yaml")
    assert invalid["status"] == "invalid" and "output" not in invalid
    paths = {p["path"] for p in invalid["problems"]}
    assert {"patient.date_of_birth", "provider.npi", "prior_therapies[0].end",
            "requested.session"} <= paths
    assert all("value" not in p for p in invalid["problems"])
    for name, record in records.items():
        assert record["status"] in ("rendered", "criteria-not-met"), (name, record)
        pdf = Path(record["output"])
        assert pdf.parent == out and pdf.name == f"{record['id']}.pdf"
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == record["sha256"]
        assert page_count(pdf) == record["pages"] > 0
        assert stat.S_IMODE(pdf.stat().st_mode) == 0o600
    assert records["chronic-migraine-with-aura.yaml"]["status"] == "rendered"
    assert records["fails-criteria.yaml"]["status"] == "criteria-not-met"
    assert {c["id"] for c in records["fails-criteria.yaml"]["criteria"]}
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    summary = data["summary"]
    assert summary["records"] == len(expected) and summary["invalid"] == 1
    assert "invalid-case.yaml: invalid, 10 problems" in result.output
    assert "requested.session: is not a field" in result.output
    assert result.output.strip().splitlines()[-1].startswith(f"batch: {len(expected)} records:")
    # Nothing of the patients' identities leaks into the report or stderr.
    text = report.read_text("utf-8") + result.output
    for path in SAMPLES.glob("*.yaml"):
        loaded = yaml.safe_load(path.read_text("utf-8"))
        if isinstance(loaded.get("patient"), dict) and "given_name" in loaded["patient"]:
            for item in phi(loaded):
                assert item not in text, (path.name, item)

    # Re-run with --resume: nothing is rendered again, the report is still complete.
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")}
    again = CliRunner().invoke(main, ["batch", str(SAMPLES), "-o", str(out), "-j", "2",
                                      "--resume", "--report", str(report)])
    assert again.exit_code == 1, again.output
    data = json.loads(report.read_text("utf-8"))
    assert len(data["records"]) == len(expected)
    assert all(r.get("resumed") for r in data["records"] if r["status"] != "invalid")
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.pdf")} == before


def test_names_are_safe_stable_and_unique(tmp_path: Path) -> None:
    cases = tmp_path / "in"
    cases.mkdir()
    (cases / "b.ndjson").write_text(ndjson([
        sample(id="dup"), sample(id="DUP"), {k: v for k, v in sample().items() if k != "id"},
        "{not json", "", sample(id="dup-2")]), "utf-8")
    (cases / "a.yaml").write_text(yaml.safe_dump(sample(id="dup")), "utf-8")
    (cases / "notes.txt").write_text("ignored", "utf-8")
    (cases / ".hidden.yaml").write_text("ignored", "utf-8")
    results = list(render_many([cases], tmp_path / "out", jobs=1, checker=None))
    assert [(r.source.replace(str(cases), "in"), r.status, r.output.name if r.output else None)
            for r in results] == [
        ("in/a.yaml", "rendered", "dup.pdf"),
        ("in/b.ndjson:1", "rendered", "dup-2.pdf"),
        ("in/b.ndjson:2", "rendered", "DUP-3.pdf"),
        ("in/b.ndjson:3", "rendered", "b-3.pdf"),
        ("in/b.ndjson:4", "invalid", None),
        ("in/b.ndjson:6", "rendered", "dup-2-2.pdf"),
    ]
    bad = results[4].problems[0]
    assert bad.source == "in/b.ndjson:4".replace("in", str(cases), 1) and bad.line is None
    assert "not valid JSON" in bad.message
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) \
        == ["DUP-3.pdf", "b-3.pdf", "dup-2-2.pdf", "dup-2.pdf", "dup.pdf"]


def test_safe_stem_and_names() -> None:
    assert safe_stem("../../etc/passwd") == "etc_passwd"
    assert safe_stem("..") == "case"
    assert safe_stem("Jane Doe (DOB 1980)") == "Jane_Doe_DOB_1980_"
    assert safe_stem("x" * 200) == "x" * 64
    names = OutputNames()
    assert [names.claim(s) for s in ("a", "A", "a", "a-2")] == \
        ["a.pdf", "A-2.pdf", "a-3.pdf", "a-2-2.pdf"]


def test_fingerprint_covers_settings_templates_and_code() -> None:
    from priorauth.batch import fingerprint
    from priorauth.letter.render import Renderer

    folders = Renderer().search_path
    assert fingerprint(folders, "a") == fingerprint(folders, "a")
    assert fingerprint(folders, "a") != fingerprint(folders, "b")


def test_resume_rerenders_changed_input(tmp_path: Path, pinned: None) -> None:
    case = tmp_path / "c.yaml"
    case.write_text(yaml.safe_dump(sample(id="c")), "utf-8")
    first = list(render_many([case], tmp_path / "out", jobs=1, checker=None))
    again = list(render_many([case], tmp_path / "out", jobs=1, checker=None, resume=True))
    assert again[0].resumed and again[0].sha256 == first[0].sha256
    case.write_text(yaml.safe_dump(sample(id="c", rationale="Changed rationale.")), "utf-8")
    changed = list(render_many([case], tmp_path / "out", jobs=1, checker=None, resume=True))
    assert not changed[0].resumed and changed[0].sha256 != first[0].sha256
    (tmp_path / "out" / "c.pdf").write_bytes(b"%PDF-1.7 truncated")  # damaged since: redo
    fixed = list(render_many([case], tmp_path / "out", jobs=1, checker=None, resume=True))
    assert not fixed[0].resumed and fixed[0].sha256 == changed[0].sha256


def test_python_api_objects_in_order(tmp_path: Path) -> None:
    from priorauth import load_case
    from priorauth import render_many as exported

    assert exported is render_many
    broken = sample(id="broken")
    broken["patient"] = {**broken["patient"], "date_of_birth": "17/04/1988"}
    results = list(render_many([load_case(SAMPLE), broken, sample(id="second")],
                               tmp_path, jobs=1))
    assert [(r.index, r.status, r.id) for r in results] == [
        (0, "rendered", "sample-cm-aura"), (1, "invalid", None), (2, "rendered", "second")]
    assert results[1].source == "<case 2>"
    assert [p.path for p in results[1].problems] == ["patient.date_of_birth"]
    assert all(p.value is None for p in results[1].problems)
    assert isinstance(results[0], RecordResult) and results[0].ok and results[0].pages


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    afile = tmp_path / "file"
    afile.write_text("x")
    assert runner.invoke(main, ["batch", str(SAMPLE), "-o", str(afile)]).exit_code == 2
    assert runner.invoke(main, ["batch", str(SAMPLE), "-o", str(tmp_path / "o"), "-j", "0"]
                         ).exit_code == 2
    assert runner.invoke(main, ["batch", str(tmp_path / "missing.yaml"), "-o", str(tmp_path)]
                         ).exit_code == 2
    assert runner.invoke(main, ["batch", "-", "-", "-o", str(tmp_path / "o")]).exit_code == 2
    assert runner.invoke(main, ["batch", str(SAMPLE)]).exit_code == 2
    unknown = runner.invoke(main, ["batch", str(SAMPLE), "-o", str(tmp_path / "p"),
                                   "--policy", "no-such-policy"])
    assert unknown.exit_code == 2 and "no policy 'no-such-policy'" in unknown.output
    assert "Traceback" not in unknown.output


def test_one_batch_per_folder(tmp_path: Path) -> None:
    first = render_many([SAMPLE, SAMPLE], tmp_path, jobs=1, checker=None)
    next(first)
    with pytest.raises(BatchError, match="another batch"):
        next(render_many([SAMPLE], tmp_path, jobs=1))
    first.close()
    assert [r.status for r in render_many([SAMPLE], tmp_path / "x", jobs=1)] == ["rendered"]


def test_stdin_ndjson_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "out"
    text = ndjson([sample(id="from-stdin"), '{"id": 5}', "[1, 2]"])
    proc = subprocess.run([*PRIORAUTH, "batch", "-", "-o", str(out), "-j", "2",
                           "--report", str(tmp_path / "r.json")], input=text.encode(),
                          capture_output=True, cwd=REPO, timeout=120)
    assert proc.returncode == 1, proc.stderr.decode()
    records = json.loads((tmp_path / "r.json").read_text())["records"]
    assert [(r["source"], r["status"]) for r in records] == [
        ("<stdin>:1", "rendered"), ("<stdin>:2", "invalid"), ("<stdin>:3", "invalid")]
    assert (out / "from-stdin.pdf").is_file()
    assert b"Traceback" not in proc.stderr
    assert b"\r" not in proc.stderr  # not a terminal: no progress bar


def test_checker_hook_and_strict(tmp_path: Path) -> None:
    results = list(render_many([SAMPLE], tmp_path / "a", jobs=1, checker=always_unmet))
    assert results[0].status == "criteria-not-met" and results[0].output is not None
    assert results[0].unmet == (Unmet("demo", "not met", "a demo criterion"),)
    strict = list(render_many([SAMPLE], tmp_path / "b", jobs=1, checker=always_unmet,
                              strict=True))
    assert strict[0].status == "criteria-not-met" and strict[0].output is None
    assert not list((tmp_path / "b").glob("*.pdf"))


def always_unmet(case: Any, context: Any) -> list[Unmet]:
    return [Unmet("demo", "not met", "a demo criterion")]


def crash_on_boom(case: Any, context: Any) -> list[Unmet]:
    """A checker that kills its worker process for one record (simulates a segfault / OOM)."""
    if case.id == "boom":
        os._exit(70)
    return []


@pytest.mark.slow
def test_worker_crash_only_fails_its_record(tmp_path: Path) -> None:
    inputs = [sample(id=f"ok-{i}") for i in range(3)] + [sample(id="boom")] + \
        [sample(id=f"ok-{i}") for i in range(3, 5)]
    results = list(render_many(inputs, tmp_path, jobs=2, checker=crash_on_boom))
    assert [(r.id, r.status) for r in results] == [
        ("ok-0", "rendered"), ("ok-1", "rendered"), ("ok-2", "rendered"), ("boom", "error"),
        ("ok-3", "rendered"), ("ok-4", "rendered")]
    assert "worker process died" in (results[3].error or "")


@pytest.mark.slow
def test_kill_9_then_resume(tmp_path: Path) -> None:
    count = 14
    source = tmp_path / "cases.ndjson"
    source.write_text(ndjson([sample(id=f"case-{i:02d}") for i in range(count)]), "utf-8")
    out, report = tmp_path / "out", tmp_path / "report.json"
    command = [*PINNED, "batch", str(source), "-o", str(out), "-j", "2",
               "--report", str(report)]
    proc = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE)
    manifest = out / MANIFEST_NAME
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if manifest.exists() and len(manifest.read_bytes().splitlines()) >= 3:
            break
        time.sleep(0.02)
    else:
        proc.kill()
        pytest.fail("the batch did not get going")
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.stderr is not None
    proc.stderr.close()
    done_before = len(list(out.glob("*.pdf")))
    assert 0 < done_before < count, "kill -9 came too late to test anything"
    assert not report.exists()
    time.sleep(0.3)  # the workers die with their parent (PR_SET_PDEATHSIG)
    (out / ".case-99.pdf.abc123.part").write_bytes(b"%PDF-1.7 trunc")  # as if cut mid-write

    proc2 = subprocess.run([*command, "--resume"], cwd=REPO, capture_output=True, timeout=120)
    assert proc2.returncode == 0, proc2.stderr.decode()
    data = json.loads(report.read_text("utf-8"))
    records = data["records"]
    assert [r["id"] for r in records] == [f"case-{i:02d}" for i in range(count)]
    assert all(r["status"] == "rendered" for r in records)
    assert 0 < sum(bool(r.get("resumed")) for r in records) < count
    assert data["summary"]["rendered"] == count
    assert not list(out.glob("*.part")) and not list(out.glob(".*.part"))
    pdfs = sorted(out.glob("*.pdf"))
    assert [p.name for p in pdfs] == [f"case-{i:02d}.pdf" for i in range(count)]
    for record in records:
        pdf = Path(record["output"])
        assert hashlib.sha256(pdf.read_bytes()).hexdigest() == record["sha256"]
        assert page_count(pdf) == record["pages"] > 0


def test_progress_bar_text() -> None:
    from priorauth.cli.batch import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(4, stream, enabled=True)
    bar.started -= 2.0  # two seconds ago
    bar.advance()
    bar.advance()
    assert bar.text().startswith("[############............] 2/4  50%  1.0/s  ETA 0:02")
    assert stream.getvalue().startswith("\r[")
    bar.clear()
    assert stream.getvalue().endswith("\r")
    silent = io.StringIO()
    quiet = ProgressBar(None, silent, enabled=False)
    quiet.advance()
    assert silent.getvalue() == "" and quiet.text().startswith("1 done")


@pytest.mark.slow
def test_workers_are_recycled(tmp_path: Path) -> None:
    inputs = [sample(id=f"r-{i}") for i in range(5)]
    results = list(render_many(inputs, tmp_path, jobs=2, checker=None, recycle_after=1))
    assert [(r.id, r.status) for r in results] == [(f"r-{i}", "rendered") for i in range(5)]
    assert all(page_count(r.output) == r.pages for r in results if r.output)


def test_strict_refuses_a_case_no_policy_applies_to_with_the_reason(tmp_path: Path) -> None:
    from priorauth.errors import NO_POLICY_MESSAGE

    case = tmp_path / "no-policy.yaml"
    case.write_text(yaml.safe_dump(sample(id="no-policy",
                                          diagnoses=[{"code": "G89.4", "primary": True}])),
                    "utf-8")
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["batch", str(case), str(SAMPLE), "-o",
                                       str(tmp_path / "out"), "--strict", "--report",
                                       str(report)])
    assert result.exit_code == 1, result.output
    records = json.loads(report.read_text())["records"]
    assert [(r["id"], r["status"]) for r in records] == [
        ("no-policy", "criteria-not-met"), ("sample-cm-aura", "rendered")]
    assert records[0]["reason"] == NO_POLICY_MESSAGE and "output" not in records[0]
    assert f"no-policy): criteria-not-met: {NO_POLICY_MESSAGE}" in result.output
    assert [p.name for p in (tmp_path / "out").glob("*.pdf")] == ["sample-cm-aura.pdf"]
    fails = list(render_many([SAMPLES / "fails-criteria.yaml"], tmp_path / "f", jobs=1,
                             strict=True))
    assert fails[0].status == "criteria-not-met" and fails[0].output is None
    assert fails[0].reason and "not met or unknown" in fails[0].reason
