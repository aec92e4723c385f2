"""kill -9 at random moments of a render: the final PDF name never holds a truncated file.

A harness process loads WeasyPrint once, then forks one child per letter; each child renders the
sample and writes it with :func:`priorauth.output.write_atomic` to the same final name, and the
harness SIGKILLs it after a random delay: half spread over the render, half aimed at the write
(the child signals through a pipe when its PDF bytes are ready). After every kill the final name
must be absent (nothing finished yet) or a complete PDF; a plain ``open(..., "wb")`` fails this.
A few kills also hit the real ``priorauth render`` command. ``PRIORAUTH_CRASH_KILLS`` sets the
number of forked kills.
"""

from __future__ import annotations

import io
import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "samples" / "chronic-migraine-with-aura.yaml"
KILLS = int(os.environ.get("PRIORAUTH_CRASH_KILLS", "20"))

HARNESS = r"""
import json, os, random, signal, sys, time
from pathlib import Path
from priorauth import load_case
from priorauth.output import write_atomic
from priorauth.letter.render import Renderer

out, case_path, kills, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
case = load_case(case_path)
renderer = Renderer("letter")
renderer.pdf(case)  # warm caches, so children spend their time rendering and writing
started = time.perf_counter()
renderer.pdf(case)
duration = time.perf_counter() - started
target = out / "letter.pdf"

def complete(path):
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF") and len(data) > 5000

pdf = renderer.pdf(case)
started = time.perf_counter()
write_atomic(out / "warm-up.pdf", pdf)
writing = time.perf_counter() - started
(out / "warm-up.pdf").unlink()

report = {"duration": duration, "writing": writing, "runs": []}
for index in range(kills):
    before = target.stat().st_ino if target.exists() else None
    during_write = index % 2 == 1  # half the kills aim at the write itself
    delay = rng.uniform(0, writing * 1.5) if during_write else rng.uniform(0, duration * 1.2)
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            data = renderer.pdf(case)
            os.write(ready_w, b"R")
            write_atomic(target, data)
        finally:
            os._exit(0)
    os.close(ready_w)
    if during_write:
        os.read(ready_r, 1)
    deadline = time.perf_counter() + delay
    while time.perf_counter() < deadline:
        pass
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(ready_r)
    after = target.stat().st_ino if target.exists() else None
    report["runs"].append({"delay": delay, "during_write": during_write,
                           "killed": os.WIFSIGNALED(status),
                           "replaced": after != before, "complete": complete(target)})
print(json.dumps(report))
"""


def _is_complete_pdf(path: Path) -> bool:
    from pypdf import PdfReader

    data = path.read_bytes()
    if not data.startswith(b"%PDF-") or not data.rstrip().endswith(b"%%EOF"):
        return False
    return len(PdfReader(io.BytesIO(data)).pages) >= 1


def test_random_sigkill_during_render_never_leaves_a_partial_pdf(tmp_path: Path) -> None:
    out = tmp_path / "out"
    seed = random.SystemRandom().randrange(2**32)
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, str(out), str(SAMPLE), str(KILLS), str(seed)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    runs = report["runs"]
    assert len(runs) == KILLS
    for index, run in enumerate(runs):
        # None: no letter finished yet; True: a whole letter. Never False (seed printed on failure).
        assert run["complete"] is not False, (index, seed, run)
    assert sum(run["killed"] for run in runs) >= KILLS // 4, runs  # most kills land mid-render
    target = out / "letter.pdf"
    if target.exists():
        assert _is_complete_pdf(target)
        assert stat.S_IMODE(target.stat().st_mode) == 0o600
    for leftover in out.glob(".letter.pdf.*.part"):  # a SIGKILL cannot clean up its temp file...
        assert stat.S_IMODE(leftover.stat().st_mode) == 0o600  # ...but it is private
    assert {p.name for p in out.iterdir()} <= {"letter.pdf"} | {
        p.name for p in out.glob(".letter.pdf.*.part")}


@pytest.mark.slow
def test_sigkill_of_the_real_command(tmp_path: Path) -> None:
    """The CLI end to end: start ``priorauth render``, kill -9 it at a random moment."""
    rng = random.Random()
    target = tmp_path / "out" / "letter.pdf"
    for _ in range(int(os.environ.get("PRIORAUTH_CRASH_CLI_KILLS", "3"))):
        process = subprocess.Popen(
            [sys.executable, "-m", "priorauth", "render", str(SAMPLE), "-o", str(target)],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.3, 2.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        if target.exists():
            assert _is_complete_pdf(target)
            assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # Finally let one run to the end: it replaces whatever is there with a complete letter.
    subprocess.run([sys.executable, "-m", "priorauth", "render", str(SAMPLE), "-o", str(target)],
                   cwd=REPO, check=True, capture_output=True, timeout=60)
    assert _is_complete_pdf(target)
