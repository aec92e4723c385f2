"""Start-up of ``priorauth validate`` and ``check`` against ``python -c "import pydantic"``.

A billing clerk runs ``validate`` after every edit, so it must start nearly as fast as importing
pydantic (goal: <= 2x, same machine, same run). Runs each command alternately and compares
medians, so load from other work affects both sides alike::

    python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "samples" / "crps.yaml"
GOAL = 2.0


# As installed: pip writes bytecode for every module, so a user never pays for compiling. With
# PYTHONDONTWRITEBYTECODE set (some shells and containers do), every run would recompile
# priorauth's modules (~50 ms) but not pydantic's (compiled at install): measure like a user.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _wall(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=REPO, capture_output=True, check=False, env=ENV)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    commands = {
        "import pydantic": [sys.executable, "-c", "import pydantic"],
        "priorauth validate": [sys.executable, "-m", "priorauth", "validate", str(SAMPLE)],
        "priorauth check": [sys.executable, "-m", "priorauth", "check", str(SAMPLE)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for argv in commands.values():  # warm-up: writes bytecode, fills the glyph cache
        _wall(argv)
    for _ in range(args.runs):
        for name, argv in commands.items():
            times[name].append(_wall(argv))
    base = statistics.median(times["import pydantic"])
    print(f"{'command':<22} {'median s':>9} {'ratio':>7}  goal")
    worst = 0.0
    for name, samples in times.items():
        median = statistics.median(samples)
        ratio = median / base
        goal = "" if name == "import pydantic" else f"<= {GOAL:.1f}x  " + (
            "met" if ratio <= GOAL else "NOT MET")
        if name != "import pydantic":
            worst = max(worst, ratio)
        print(f"{name:<22} {median:>9.3f} {ratio:>6.2f}x  {goal}")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    raise SystemExit(main())
