"""Outputs that are not regular files are written through, never replaced (``-o /dev/null`` as
root once replaced the device with a 0600 file and broke the machine for the next command)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

from click.testing import CliRunner

from priorauth.cli import main
from tests.conftest import REPO, SAMPLES

SAMPLE = str(SAMPLES / "crps.yaml")


def test_dev_null_stays_a_device() -> None:
    result = CliRunner().invoke(main, ["render", SAMPLE, "--no-pdf-a", "-o", os.devnull])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_fifo_receives_the_letter(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    result = CliRunner().invoke(main, ["render", SAMPLE, "--no-pdf-a", "-o", str(fifo)])
    reader.join(timeout=120)
    assert result.exit_code == 0, result.output
    assert received and received[0].startswith(b"%PDF-")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_symlink_is_written_through_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "real.pdf"
    target.write_bytes(b"old")
    link = tmp_path / "link.pdf"
    link.symlink_to(target)
    result = CliRunner().invoke(main, ["render", SAMPLE, "--no-pdf-a", "-o", str(link)])
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and target.read_bytes().startswith(b"%PDF-")


def test_a_folder_is_refused(tmp_path: Path) -> None:
    for args in (["render", SAMPLE, "-o", str(tmp_path)], ["pas", SAMPLE, "-o", str(tmp_path)]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2 and "is a folder" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_a_dangling_symlink_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "out.pdf"
    link.symlink_to(tmp_path / "elsewhere" / "x.pdf")
    result = CliRunner().invoke(main, ["render", SAMPLE, "-o", str(link)])
    assert result.exit_code == 2 and "symlink to nothing" in result.output
    assert not (tmp_path / "elsewhere").exists()


def test_a_full_stdout_is_a_message_not_a_traceback() -> None:
    if not Path("/dev/full").exists():
        return
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "priorauth", "schema"], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120,
                              check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "No space left" in done.stderr


def test_batch_report_to_a_device_keeps_the_device(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["batch", SAMPLE, "-o", str(tmp_path / "out"), "-q",
                                       "--report", os.devnull])
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    folder = CliRunner().invoke(main, ["batch", SAMPLE, "-o", str(tmp_path / "out2"), "-q",
                                       "--report", str(tmp_path)])
    assert folder.exit_code == 2 and "is a directory" in folder.output
