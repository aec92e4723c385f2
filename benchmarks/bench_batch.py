#!/usr/bin/env python3
"""Benchmark ``priorauth batch`` by hand: ``make bench`` or ``python benchmarks/bench_batch.py``.

Generates N synthetic cases (default 200) from the valid samples, then prints four ratios:

  (a) batch throughput vs. raw WeasyPrint rendering the same pre-built HTML in one process
      pinned to one core                                   target >= 1.8x on 2 cores
  (b) batch vs. a loop calling ``priorauth render`` once per case (a subprocess each; timed on
      --sample cases and extrapolated to N)                 target >= 3x
  (c) priorauth's per-letter overhead (load + validate + policy check + template) as a share of
      the whole per-letter time, one core, in process       target <= 5%
  (d) peak RSS of the batch's worker processes over a 2,000-letter batch vs. after ~50 letters
      each (with --long, ~4 min on 2 cores; by default 400 letters)   target <= 1.2
      (--worker-leak also measures one renderer kept alive that long, without recycling)

and which font subsetter WeasyPrint uses (HarfBuzz's with ``libharfbuzz-subset0``, else fontTools).
Everything runs in subprocesses so that each measurement starts cold, like real use.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from priorauth.batch.pool import RECYCLE_AFTER

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples"
PYTHON = sys.executable
PRIORAUTH = [PYTHON, "-m", "priorauth"]
GIVEN = ["Avery", "Blake", "Casey", "Devon", "Emery", "Finley", "Harper", "Jules", "Kai", "Logan"]
FAMILY = ["Testcase", "Sampleton", "Fakeley", "Mockford", "Synthia", "Placeholder", "Benchley"]

RAW_CHILD = r"""
import os, sys, time
cpu = int(sys.argv[3])
os.sched_setaffinity(0, {cpu})
started = time.perf_counter()
from weasyprint import HTML
base = sys.argv[2]
for name in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], name), encoding="utf-8") as handle:
        html = handle.read()
    HTML(string=html, base_url=base).write_pdf()
print(time.perf_counter() - started)
"""

RSS_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from priorauth.batch import policy_checker
from priorauth.batch.worker import _Options, _Worker
from priorauth.case.parse import parse_case

cases_dir, out_dir, letters = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
checkpoints = sorted({50, letters})
cases = [parse_case(p.read_bytes(), None, p.name) for p in sorted(cases_dir.iterdir())]
worker = _Worker(_Options(None, (), policy_checker))
worker.warm()
result = {}
started = time.perf_counter()
for number in range(1, letters + 1):
    case = cases[number % len(cases)]
    outcome = worker.render(number, case)
    (out_dir / f"rss-{number % 20}.pdf").write_bytes(outcome.data or b"")
    assert outcome.status in ("rendered", "criteria-not-met"), outcome
    if number in checkpoints:
        result[number] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"  {number} letters: peak RSS {result[number] / 1024:.1f} MiB "
              f"({time.perf_counter() - started:.0f} s)", file=sys.stderr, flush=True)
print(json.dumps(result))
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate(n: int, folder: Path) -> list[Path]:
    """N synthetic cases: the valid samples in rotation, each with its own id and invented name."""
    from priorauth.case.parse import parse_case
    from priorauth.errors import CaseInvalid

    bases = []
    for path in sorted(SAMPLES.glob("*.yaml")):
        try:
            parse_case(path.read_bytes(), None, path.name)
        except CaseInvalid:
            continue
        bases.append(yaml.safe_load(path.read_text("utf-8")))
    folder.mkdir(parents=True)
    paths = []
    for number in range(n):
        data = json.loads(json.dumps(bases[number % len(bases)], default=str))
        data["id"] = f"bench-{number:05d}"
        data["patient"]["given_name"] = GIVEN[number % len(GIVEN)]
        data["patient"]["family_name"] = FAMILY[(number // len(GIVEN)) % len(FAMILY)]
        data["patient"]["member_id"] = f"SYN{number:09d}"
        path = folder / f"case-{number:05d}.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), "utf-8")
        parse_case(path.read_bytes(), None, path.name)  # still valid
        paths.append(path)
    log(f"generated {n} cases from {len(bases)} samples in {folder}")
    return paths


def subsetter() -> str:
    out = subprocess.run([PYTHON, "-c", "from priorauth.batch import font_subsetter as f; "
                          "import ctypes, ctypes.util; "
                          "hb = ctypes.CDLL(ctypes.util.find_library('harfbuzz')); "
                          "hb.hb_version_string.restype = ctypes.c_char_p; "
                          "print(f(), hb.hb_version_string().decode())"],
                         capture_output=True, text=True, check=True, cwd=REPO)
    name, version = out.stdout.split()
    return f"{name} (HarfBuzz {version}" + (", libharfbuzz-subset present)" if name == "harfbuzz"
                                              else "; libharfbuzz-subset missing or < 4.1)")


def timed(command: list[str], ok: tuple[int, ...] = (0,), **kwargs: Any) -> float:
    started = time.perf_counter()
    code = subprocess.run(command, cwd=REPO, **kwargs).returncode
    seconds = time.perf_counter() - started
    if code not in ok:
        raise SystemExit(f"{' '.join(command)} exited {code}")
    return seconds


def bench_raw(cases: list[Path], work: Path) -> tuple[float, float]:
    """Seconds for raw WeasyPrint on the pre-built HTML, one process on one core."""
    from priorauth.case.parse import load_case
    from priorauth.letter.render import Renderer

    renderer = Renderer()
    html_dir = work / "html"
    shutil.rmtree(html_dir, ignore_errors=True)
    html_dir.mkdir()
    for path in cases:
        case = load_case(path)
        (html_dir / f"{path.stem}.html").write_text(renderer.html(case), "utf-8")
    base = renderer._base_url(renderer.template_name_for(load_case(cases[0])))
    cpu = sorted(os.sched_getaffinity(0))[-1]
    started = time.perf_counter()
    out = subprocess.run([PYTHON, "-c", RAW_CHILD, str(html_dir), base, str(cpu)],
                         capture_output=True, text=True, check=True)
    return time.perf_counter() - started, float(out.stdout.strip())


def bench_batch(folder: Path, work: Path, jobs: int) -> tuple[float, dict[str, Any]]:
    out, report = work / "batch-out", work / "report.json"
    shutil.rmtree(out, ignore_errors=True)
    seconds = timed([*PRIORAUTH, "batch", str(folder), "-o", str(out), "-j", str(jobs),
                     "--quiet", "--report", str(report)], ok=(0, 1),
                    stderr=subprocess.DEVNULL)  # 1: some cases do not meet the policy
    summary: dict[str, Any] = json.loads(report.read_text("utf-8"))["summary"]
    return seconds, summary


def bench_loop(cases: list[Path], work: Path, sample: int) -> list[float]:
    out = work / "loop-out"
    out.mkdir()
    step = max(1, len(cases) // sample)
    chosen = cases[::step][:sample]
    times = []
    for path in chosen:
        times.append(timed([*PRIORAUTH, "render", str(path), "-o", str(out / f"{path.stem}.pdf")],
                           stderr=subprocess.DEVNULL))
    return times


def bench_overhead(cases: list[Path], count: int) -> tuple[float, dict[str, float]]:
    """Share of one letter's time spent in priorauth's own steps, on one core, warmed."""
    from priorauth.batch import policy_checker
    from priorauth.case.parse import parse_case
    from priorauth.letter.context import build_context
    from priorauth.letter.render import Renderer

    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    renderer = Renderer()
    renderer.pdf(parse_case(cases[0].read_bytes(), None, cases[0].name))  # warm up
    totals = dict.fromkeys(("load+validate", "check", "template", "layout+pdf"), 0.0)
    clock = time.perf_counter
    for path in cases[:count]:
        raw = path.read_bytes()
        t0 = clock()
        case = parse_case(raw, None, path.name)
        t1 = clock()
        context = build_context(case)  # runs the policy check (check_case) + derived facts
        policy_checker(case, context)
        t2 = clock()
        renderer.html(case, context)
        t3 = clock()
        renderer.pdf(case, context)  # renders the HTML again, then layout + PDF
        t4 = clock()
        totals["load+validate"] += t1 - t0
        totals["check"] += t2 - t1
        totals["template"] += t3 - t2
        totals["layout+pdf"] += (t4 - t3) - (t3 - t2)
    total = sum(totals.values())
    overhead = totals["load+validate"] + totals["check"] + totals["template"]
    return overhead / total, {k: v / count for k, v in totals.items()}


def _workers(parent: int) -> list[int]:
    """Pool workers of the batch process ``parent`` (not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def bench_pool_rss(cases: list[Path], work: Path, letters: int, jobs: int) -> tuple[int, int]:
    """Peak RSS (VmHWM) of the batch's worker processes, sampled from /proc while a real
    ``priorauth batch`` renders ``letters`` letters: when each worker has done ~50, and at the
    end (the highest any worker reached, recycled workers included)."""
    source = work / "rss.ndjson"
    with source.open("w", encoding="utf-8") as handle:
        for number in range(letters):
            data = yaml.safe_load(cases[number % len(cases)].read_text("utf-8"))
            data["id"] = f"rss-{number:05d}"
            handle.write(json.dumps(data, default=str) + "\n")
    out = work / "rss-pool-out"
    proc = subprocess.Popen([*PRIORAUTH, "batch", str(source), "-o", str(out), "-j", str(jobs),
                             "--quiet"], cwd=REPO, stderr=subprocess.DEVNULL)
    peaks: dict[int, int] = {}
    early = 0
    manifest = out / ".priorauth-manifest.jsonl"
    while proc.poll() is None:
        for pid in _workers(proc.pid):
            peaks[pid] = max(peaks.get(pid, 0), _peak_kib(pid))
        if not early and manifest.exists() and \
                manifest.read_bytes().count(b"\n") >= 50 * jobs:
            early = max(peaks.values())
            log(f"  ~50 letters per worker: peak RSS {early / 1024:.1f} MiB")
        time.sleep(0.2)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"batch for (d) exited {proc.returncode}")
    return early, max(peaks.values())


def bench_rss(folder: Path, work: Path, letters: int) -> dict[int, int]:
    """One worker's renderer kept alive for ``letters`` letters, no recycling (the leak)."""
    out = work / "rss-out"
    out.mkdir()
    proc = subprocess.run([PYTHON, "-c", RSS_CHILD, str(folder), str(out), str(letters)],
                          stdout=subprocess.PIPE, text=True, check=True, cwd=REPO)
    return {int(k): v for k, v in json.loads(proc.stdout).items()}


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="synthetic cases (default 200)")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sample", type=int, default=20,
                        help="cases timed for the 'priorauth render' loop (default 20)")
    parser.add_argument("--overhead-cases", type=int, default=60)
    parser.add_argument("--long", action="store_true",
                        help="(d) after 2,000 letters (about 7 min on one core) instead of 400")
    parser.add_argument("--rss-letters", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1,
                        help="time batch and raw WeasyPrint this many times, keep the best "
                             "(use 3 on a machine that is doing other work)")
    parser.add_argument("--worker-leak", action="store_true",
                        help="also time one renderer for the (d) letter count without recycling "
                             "(about 7 min for 2,000)")
    parser.add_argument("--skip", default="", help="comma list of a,b,c,d to skip")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    rss_letters = args.rss_letters or (2000 if args.long else 400)

    work = Path(tempfile.mkdtemp(prefix="priorauth-bench-"))
    lines: list[str] = []
    try:
        load = os.getloadavg()
        log(f"{os.cpu_count()} cores, {args.jobs} jobs, load average {load[0]:.2f}")
        lines.append(f"machine: {os.cpu_count()} cores; batch -j {args.jobs}; N = {args.n}; "
                     f"load average at start {load[0]:.2f}")
        lines.append(f"font subsetter: {subsetter()}")
        folder = work / "cases"
        cases = generate(args.n, folder)

        batch_runs: list[float] = []
        raw_runs: list[tuple[float, float]] = []
        for run in range(args.repeat):  # interleaved, best of each: other load on the machine
            log(f"batch (run {run + 1}/{args.repeat}) ...")
            batch_s, summary = bench_batch(folder, work, args.jobs)
            batch_runs.append(batch_s)
            rendered = summary["rendered"] + summary["criteria-not-met"]
            assert rendered == args.n, summary
            if "a" not in skip:
                log(f"raw WeasyPrint, one core (run {run + 1}/{args.repeat}) ...")
                raw_runs.append(bench_raw(cases, work))
        batch_s = min(batch_runs)
        runs = "" if args.repeat == 1 else \
            f" (best of {args.repeat}: {', '.join(f'{t:.1f}' for t in batch_runs)})"
        lines.append(f"batch: {args.n} letters ({summary['pages']} pages) in {batch_s:.1f} s "
                     f"wall{runs} = {args.n / batch_s:.2f} letters/s, incl. start-up/warm-up")

        if "a" not in skip:
            raw_wall, raw_inner = min(raw_runs)
            runs = "" if args.repeat == 1 else \
                f", best of {', '.join(f'{t:.1f}' for t, _ in raw_runs)}"
            ratio = raw_wall / batch_s
            lines.append(f"(a) raw WeasyPrint, same HTML, 1 process on 1 core: {raw_wall:.1f} s "
                         f"wall ({raw_inner:.1f} s import + rendering inside the process{runs}; "
                         f"{args.n / raw_wall:.2f} letters/s) -> batch is {ratio:.2f}x  "
                         f"[target >= 1.8x: {verdict(ratio >= 1.8)}]")
        if "b" not in skip:
            log(f"'priorauth render' loop, {args.sample} cases ...")
            times = bench_loop(cases, work, args.sample)
            per = statistics.mean(times)
            ratio = per * args.n / batch_s
            lines.append(f"(b) 'priorauth render' per case: {per:.2f} s mean over {len(times)} "
                         f"sampled cases (median {statistics.median(times):.2f} s), "
                         f"extrapolated to {args.n}: {per * args.n:.0f} s -> batch is "
                         f"{ratio:.1f}x  [target >= 3x: {verdict(ratio >= 3)}]")
        if "c" not in skip:
            log("per-letter overhead, one core ...")
            count = min(args.overhead_cases, len(cases))
            share, steps = bench_overhead(cases, count)
            detail = ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in steps.items())
            lines.append(f"(c) overhead (load+validate+check+template) = {share:.1%} of the "
                         f"per-letter time over {count} letters ({detail})  "
                         f"[target <= 5%: {verdict(share <= 0.05)}]")
        if "d" not in skip:
            log(f"batch worker RSS over {rss_letters} letters ...")
            early, late = bench_pool_rss(cases, work, rss_letters, args.jobs)
            ratio = late / early
            lines.append(f"(d) batch workers' peak RSS: {early / 1024:.1f} MiB after ~50 letters "
                         f"each, {late / 1024:.1f} MiB at most over a {rss_letters}-letter batch "
                         f"(-j {args.jobs}, workers recycled every {RECYCLE_AFTER} letters) -> "
                         f"{ratio:.3f}  [target <= 1.2: {verdict(ratio <= 1.2)}]"
                         + ("" if rss_letters >= 2000 else "  (run with --long for 2,000)"))
        if args.worker_leak:
            log(f"one renderer kept for {rss_letters} letters, no recycling ...")
            rss = bench_rss(folder, work, rss_letters)
            lines.append(f"    without recycling, one process: {rss[50] / 1024:.1f} MiB after 50 "
                         f"letters, {rss[rss_letters] / 1024:.1f} MiB after {rss_letters} -> "
                         f"{rss[rss_letters] / rss[50]:.3f} (WeasyPrint's write_pdf keeps native "
                         "memory per PDF)")
        lines.append(f"load average at end {os.getloadavg()[0]:.2f}")
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
