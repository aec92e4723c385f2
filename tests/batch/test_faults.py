"""Batch edge faults (issue 12.10): a refused second batch, a report inside the output folder, a
full disk under the manifest, a tampered manifest, special files in a template folder. Each ends
in a clean per-record error or a clean message, never a traceback and never lost work."""

from __future__ import annotations

import errno
import io
import json
import os
import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from priorauth.batch import MANIFEST_NAME, BatchSummary, ReportWriter, render_many
from priorauth.cli import main
from tests.conftest import REPO, SAMPLES

SAMPLE = SAMPLES / "chronic-migraine-with-aura.yaml"
CRPS = SAMPLES / "crps.yaml"


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin the code/templates part of the input hash (a shared tree may change between runs)."""
    monkeypatch.setattr("priorauth.batch.fingerprint", lambda *a: b"pinned")


def test_a_refused_second_batch_keeps_the_first_ones_report(tmp_path: Path) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    first = render_many([SAMPLE, CRPS], out, jobs=1)
    writer = ReportWriter(report)  # the first batch's report, being written
    writer.add(next(first))
    second = CliRunner().invoke(main, ["batch", str(SAMPLE), "-o", str(out), "-q",
                                       "--report", str(report)])
    assert second.exit_code == 2, second.output
    assert "another batch is writing" in second.output and "Traceback" not in second.output
    writer.add(next(first))
    first.close()
    summary = BatchSummary()
    writer.close(summary)
    records = json.loads(report.read_text())["records"]
    assert [Path(r["source"]).name for r in records] == [SAMPLE.name, CRPS.name]


def test_a_report_inside_the_output_folder_is_not_a_leftover(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    # A report whose name looks like a PDF's, still being written while a batch starts there.
    writer = ReportWriter(out / "summary.pdf")
    writer.add(next(iter(render_many([SAMPLE], tmp_path / "elsewhere", jobs=1))))
    stale = out / ".case-99.pdf.k2j4x9_a.part"  # a killed run's leftover: this one goes
    stale.write_bytes(b"%PDF-1.7 cut short")
    assert [r.status for r in render_many([SAMPLE], out, jobs=1)] == ["rendered"]
    assert not stale.exists()
    writer.close(BatchSummary())
    assert len(json.loads((out / "summary.pdf").read_text())["records"]) == 1

    runner = CliRunner()
    for _ in range(2):  # a second run (resume) keeps the first run's report too
        result = runner.invoke(main, ["batch", str(SAMPLE), "-o", str(out), "-q", "--resume",
                                      "--report", str(out / "report.json")])
        assert result.exit_code == 0, result.output
        assert json.loads((out / "report.json").read_text())["summary"]["records"] == 1
    for name in ("sample-cm-aura.pdf", MANIFEST_NAME):  # names the batch itself writes
        clash = runner.invoke(main, ["batch", str(SAMPLE), "-o", str(out), "-q",
                                     "--report", str(out / name)])
        assert clash.exit_code == 2 and "choose another name" in clash.output, clash.output


@pytest.fixture
def full_disk_under_the_manifest(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Appending to the manifest fails with ENOSPC, however it is written (os.write or a file
    object); every other file writes normally."""

    def is_manifest(fd: int) -> bool:
        try:
            return os.readlink(f"/proc/self/fd/{fd}").endswith(MANIFEST_NAME)
        except OSError:
            return False

    def full() -> OSError:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    real_write, real_fdopen = os.write, os.fdopen

    def write(fd: int, data: Any) -> int:
        if is_manifest(fd):
            raise full()
        return real_write(fd, data)

    class Full(io.TextIOWrapper):
        def write(self, text: str) -> int:
            raise full()

    def fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)
        if is_manifest(fd) and isinstance(handle, io.TextIOWrapper):
            return Full(handle.detach(), encoding="utf-8")
        return handle

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc/self/fd (Linux) to tell the manifest's descriptor")
    monkeypatch.setattr(os, "write", write)
    monkeypatch.setattr(os, "fdopen", fdopen)
    yield


def test_disk_full_on_the_manifest_is_each_records_error(
        tmp_path: Path, pinned: None, full_disk_under_the_manifest: None) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    result = CliRunner().invoke(main, ["batch", str(SAMPLE), str(CRPS), "-o", str(out), "-j",
                                       "1", "--report", str(report)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    records = json.loads(report.read_text())["records"]
    assert [r["status"] for r in records] == ["error", "error"]
    assert all("No space left on device" in r["error"] and "--resume" in r["error"]
               for r in records)
    assert "could not be recorded" in result.output


def test_a_record_not_in_the_manifest_is_rendered_again(tmp_path: Path, pinned: None,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(os, "write", _enospc_for_manifest(os.write))
        first = list(render_many([SAMPLE], tmp_path, jobs=1))
    assert first[0].status == "error" and first[0].output is not None
    again = list(render_many([SAMPLE], tmp_path, jobs=1, resume=True))
    assert again[0].status == "rendered" and not again[0].resumed


def _enospc_for_manifest(real: Any) -> Any:
    def write(fd: int, data: Any) -> int:
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            target = ""
        if target.endswith(MANIFEST_NAME):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return int(real(fd, data))
    return write


TAMPERED: list[tuple[str, Any]] = [
    ("pages", "4"), ("pages", True), ("pages", -1), ("criteria", 5), ("criteria", [{"id": 1}]),
    ("status", "error"), ("sha256", None), ("output", None), ("id", 7), ("warnings", "x"),
]


@pytest.mark.parametrize(("key", "value"), TAMPERED)
def test_a_tampered_manifest_line_is_rendered_again(tmp_path: Path, pinned: None, key: str,
                                                    value: Any) -> None:
    out, report = tmp_path / "out", tmp_path / "report.json"
    runner = CliRunner()
    assert runner.invoke(main, ["batch", str(SAMPLE), "-o", str(out), "-q"]).exit_code == 0
    manifest = out / MANIFEST_NAME
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    assert len(entries) == 1 and type(entries[0]["pages"]) is int
    entries[0][key] = value
    manifest.write_text("".join(json.dumps(e) + "\n" for e in entries))
    result = runner.invoke(main, ["batch", str(SAMPLE), "-o", str(out), "-q", "--resume",
                                  "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    record = json.loads(report.read_text())["records"][0]
    assert record["status"] == "rendered" and "resumed" not in record
    assert type(record["pages"]) is int and record["pages"] > 0


FINGERPRINT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # /dev/zero read whole: MemoryError
from priorauth.cli import main
sys.argv[0] = "priorauth"
main()
"""


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not Path("/dev/zero").exists(),
                    reason="needs FIFOs and /dev/zero (POSIX)")
def test_special_files_in_a_template_folder_are_not_read(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    os.mkfifo(folder / "notes.fifo")  # opening it for reading would wait for a writer forever
    (folder / "zero.css").symlink_to("/dev/zero")  # reading it whole would never end
    out = tmp_path / "out"
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY and hard < 1 << 30:
        pytest.skip("the address-space limit is already below the 1 GiB this test sets")
    try:
        result = subprocess.run(
            [sys.executable, "-c", FINGERPRINT, "batch", str(SAMPLE), "-o", str(out), "-q",
             "--templates-dir", str(folder)], cwd=REPO, capture_output=True, text=True,
            timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail("the batch hung on a FIFO in the template folder")
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "sample-cm-aura.pdf").is_file()


def test_fingerprint_reads_only_regular_files(tmp_path: Path) -> None:
    from priorauth.batch import fingerprint

    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "letter.css").write_text("p { color: black }")
    before = fingerprint([folder], "")
    (folder / "letter.css").write_text("p { color: navy }")
    changed = fingerprint([folder], "")
    assert changed != before
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "pipe")
        (folder / "zero").symlink_to("/dev/zero")
        assert fingerprint([folder], "") == fingerprint([folder], "") != changed
