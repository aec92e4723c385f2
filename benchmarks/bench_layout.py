"""Layout cost of the bundled templates, and our overhead over raw WeasyPrint.

1. The current stylesheets against the ones kept in benchmarks/baseline-templates/ (the CSS as it
   was in November 2026, before this round of changes), on the same cases: letter, appeal, peer-to-peer, fax cover.
   Goal: <= 0.75x CPU (same page counts; the text is compared by tests/letter/test_golden.py).
2. One letter through priorauth (load, check, context, template, layout, PDF/A) against raw
   WeasyPrint writing the same HTML. Goal: <= 1.05x.

CPU time (process_time) in this process, best of --runs, so other work on the machine matters
less::

    python benchmarks/bench_layout.py [--runs 5]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import priorauth  # noqa: E402
from priorauth.letter.pipeline import LetterPipeline  # noqa: E402

SAMPLES = REPO / "samples"
KINDS = {"letter": ("chronic-migraine-with-aura", {}), "appeal": ("appeal", {}),
         "peer-to-peer": ("chronic-migraine-with-aura", {"kind": "peer_to_peer"}),
         "fax cover": ("appeal", {"fax_cover": True})}


def _best(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        work()
        best = min(best, time.process_time() - started)
    return best


def _case(name: str, kind: str | None) -> priorauth.Case:
    case = priorauth.load_case(SAMPLES / f"{name}.yaml")
    if kind:
        letter = case.letter.model_copy(update={"kind": kind})
        case = case.model_copy(update={"letter": letter})
    return case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    baseline = Path(tempfile.mkdtemp(prefix="priorauth-baseline-"))
    shutil.copytree(REPO / "benchmarks" / "baseline-templates", baseline / "assets")
    now, then = LetterPipeline(), LetterPipeline(templates_dirs=[baseline])
    print(f"{'letter':<14} {'now s':>7} {'before s':>9} {'ratio':>6}  pages  goal <= 0.75x")
    ratios: list[float] = []
    for label, (name, options) in KINDS.items():
        case = _case(name, options.get("kind"))
        fax = bool(options.get("fax_cover"))
        new = now.render(case, fax_cover=fax)  # warm both (fonts, stylesheets)
        old = then.render(case, fax_cover=fax)
        t_new = _best(args.runs, lambda: now.render(case, fax_cover=fax))  # noqa: B023
        t_old = _best(args.runs, lambda: then.render(case, fax_cover=fax))  # noqa: B023
        ratios.append(t_new / t_old)
        print(f"{label:<14} {t_new:7.3f} {t_old:9.3f} {t_new / t_old:6.2f}  "
              f"{new.pages}/{old.pages}")
    total = sum(ratios) / len(ratios)
    print(f"{'mean':<14} {'':7} {'':9} {total:6.2f}  {'met' if total <= 0.75 else 'NOT MET'}")

    from weasyprint import HTML

    case = _case("chronic-migraine-with-aura", None)
    html = now.renderer.html(case)
    base_url = (REPO / "templates").as_uri() + "/"
    raw = _best(args.runs, lambda: HTML(string=html, base_url=base_url).write_pdf())
    ours = _best(args.runs, lambda: priorauth.render_letter(
        priorauth.load_case(SAMPLES / "chronic-migraine-with-aura.yaml"), pdf_a=False))
    verdict = "met" if ours / raw <= 1.05 else "NOT MET"
    print(f"one letter: priorauth {ours:.3f} s CPU vs raw WeasyPrint {raw:.3f} s on the same HTML:"
          f" {ours / raw:.2f}x (goal <= 1.05x: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
