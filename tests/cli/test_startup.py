"""``validate`` and ``check`` start fast because they import only what they use. The time is
measured in benchmarks/bench_startup.py; this test guards the import list."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

HEAVY = ("weasyprint", "fontTools", "jinja2", "simple_icd_10_cm", "priorauth.letter.render",
         "priorauth.batch", "priorauth.fhir", "priorauth.authoring")

PROBE = """
import runpy, sys, json
sys.argv = ["priorauth", *{args!r}]
try:
    runpy.run_module("priorauth", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.__stdout__)
"""


def _imported(args: list[str], cache: Path) -> list[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("command", ["validate", "check"])
def test_validate_and_check_import_only_what_they_use(command: str, tmp_path: Path) -> None:
    case = str(SAMPLES / "crps.yaml")  # has characters beyond Latin-1 (dashes)
    first = _imported([command, case], tmp_path)
    assert set(first) <= {"fontTools"}, first  # the first run reads the fonts once...
    assert _imported([command, case], tmp_path) == []  # ...later runs use the cached coverage
