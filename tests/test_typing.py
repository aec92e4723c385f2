"""The types work for users who run ``mypy --strict`` on code that imports priorauth.

mypy finds priorauth as an installed package through ``py.typed``; here the package folder
is put on the search path the way a normal (wheel) install puts it in site-packages.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

USER_SCRIPT = '''
from pathlib import Path

import priorauth
from priorauth import Case, CaseInvalid, ExitCode, Problem, RecordResult


def first_problem(path: Path) -> Problem | None:
    try:
        case: Case = priorauth.load_case(path)
    except CaseInvalid as exc:
        return exc.problems[0]
    report = priorauth.check_case(case, policy="ketamine-chronic-migraine")
    met: bool = report.all_met
    letter = priorauth.render_letter(case, fax_cover=False)
    pages: int | None = letter.pages
    data: bytes = letter.data
    print(met, pages, len(data), problem_codes(case))
    return None


def problem_codes(case: Case) -> list[str]:
    try:
        priorauth.parse_case({"patient": {}}, source="inline")
    except CaseInvalid as exc:
        return [p.code for p in exc.problems]
    return [case.patient.family_name]


def statuses(folder: str) -> list[str]:
    results: list[RecordResult] = list(priorauth.render_many([folder], "out"))
    return [r.status for r in results]


code: int = ExitCode.INVALID
version: str = priorauth.__version__
'''

BROKEN = USER_SCRIPT + "\nwrong: int = priorauth.load_case('x')\n"


def _mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "user_code.py"
    script.write_text(source, "utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("MYPYPATH", None)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir",
         str(tmp_path / ".mypy_cache"), "--config-file", os.devnull, str(script)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_user_code_type_checks_with_mypy_strict(tmp_path: Path) -> None:
    result = _mypy(tmp_path, USER_SCRIPT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


def test_mypy_catches_a_wrong_use_of_the_api(tmp_path: Path) -> None:
    result = _mypy(tmp_path, BROKEN)
    assert result.returncode == 1
    assert 'Incompatible types in assignment (expression has type "Case"' in result.stdout
