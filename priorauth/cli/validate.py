"""The work behind ``validate`` (any batch input, text or JSON) and ``check --format json``.

Kept apart from :mod:`priorauth.cli.case` so the command module stays a list of options.
``validate`` never imports WeasyPrint.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import click

from priorauth.case.inputs import Record, iter_ndjson_records, iter_records
from priorauth.case.model import Case
from priorauth.case.parse import MAX_CASE_BYTES, Locator, case_from_data, parse_located
from priorauth.cli._common import echo_invalid, echo_record_warnings, echo_warnings
from priorauth.cli.machine import emit, emit_lines, problem_item
from priorauth.errors import CaseInvalid, ExitCode, PolicyError, Problem

# The field each kind of criterion reads: where a pipeline points a person to fix a verdict.
CRITERION_PATHS = {
    "diagnosis_in": "diagnoses",
    "burden": "burden",
    "failed_classes": "prior_therapies",
    "failed_trial": "prior_therapies",
    "screening_clear": "screening",
    "request_codes": "requested",
}
VERDICT_CODES = {"met": "criterion.met", "not met": "criterion.not_met",
                 "unknown": "criterion.unknown"}


class _Prefixed(io.RawIOBase):
    """A byte stream that first replays an already-read line, then reads on from ``rest``."""

    def __init__(self, first: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._first = io.BytesIO(first)
        self._rest = rest

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        return self._first.readline(limit) or self._rest.readline(limit)


def _stdin_records() -> Iterator[Record]:
    """Standard input: NDJSON when its first line is a whole JSON object, else one document."""
    stdin = sys.stdin.buffer
    first = stdin.readline(MAX_CASE_BYTES + 1)
    try:
        ndjson = first.lstrip().startswith(b"{") and isinstance(json.loads(first), dict)
    except ValueError:
        ndjson = False
    if ndjson:
        handle: Any = _Prefixed(first, stdin)
        yield from iter_ndjson_records(handle, "<stdin>", "stdin")
        return
    raw = first + stdin.read(MAX_CASE_BYTES + 1 - len(first))
    yield Record("<stdin>", "stdin", raw=raw)


def _records(inputs: tuple[Path, ...]) -> Iterator[Record]:
    for item in inputs:
        if str(item) == "-":
            yield from _stdin_records()
        else:
            yield from iter_records([item])


def parse_record(record: Record) -> tuple[Case, Locator]:
    """One batch record → a case and its field positions; :class:`CaseInvalid` if it is not."""
    if record.problem is not None:
        raise CaseInvalid([record.problem], record.source)
    if record.raw is not None:
        return parse_located(record.raw, record.fmt, record.source)
    return case_from_data(record.data, None, record.source), Locator()


def _warnings(case: Case) -> list[Problem]:
    from priorauth.letter.glyphs import missing_glyphs
    from priorauth.policy.warnings import record_warnings
    from priorauth.reference.icd import fiscal_year_note

    found = list(record_warnings(case))
    note = fiscal_year_note(case.letter.date)
    if note is not None:
        found.append(Problem("letter.date", note, code="warning.icd_fiscal_year"))
    found += [Problem(g.path, g.message(), code="warning.glyph") for g in missing_glyphs(case)]
    return found


def validate_records(inputs: tuple[Path, ...], output_format: str) -> bool:
    """Validate every record; print as asked; True when all are valid."""
    total = valid = 0
    items: list[dict[str, Any]] = []
    for record in _records(inputs):
        total += 1
        try:
            case, locator = parse_record(record)
        except CaseInvalid as exc:
            item = {"kind": "record", "source": record.source, "valid": False,
                    "problems": [problem_item(p) for p in exc.problems], "warnings": []}
            if output_format == "text":
                echo_invalid(exc)
        else:
            valid += 1
            warnings = [w if w.line is not None else _placed(w, locator)
                        for w in _warnings(case)]
            item = {"kind": "record", "source": record.source, "valid": True, "problems": [],
                    "warnings": [problem_item(w, "warning") for w in warnings]}
            if output_format == "text":
                click.secho(f"{record.source}: valid", err=True, fg="green")
                echo_warnings([w.message for w in warnings if w.code == "warning.glyph"])
                echo_record_warnings([w for w in warnings if w.code != "warning.glyph"])
        if output_format == "ndjson":
            emit_lines([item])
        else:
            items.append(item)
    summary = {"records": total, "valid": valid, "invalid": total - valid}
    if output_format == "ndjson":
        emit_lines([{"kind": "summary", **summary}])
    elif output_format == "json":
        emit({"command": "validate", "valid": valid == total, "summary": summary,
              "records": items})
    return valid == total


def _placed(problem: Problem, locator: Locator) -> Problem:
    """The problem with the line and column of its field (or nearest parent) in the source."""
    from priorauth.case.parse import _split_path

    line, column = locator.find(_split_path(problem.path))
    return replace(problem, line=line, column=column)


def check_machine(case_path: Path, policy_id: str | None, output_format: str) -> int:
    """``check --format json|ndjson``: verdicts with codes and paths; returns the exit code."""
    from priorauth.letter.pipeline import LetterPipeline

    source = "<stdin>" if str(case_path) == "-" else str(case_path)
    document: dict[str, Any] = {"command": "check", "source": source, "policy": None,
                                "all_met": False, "problems": [], "results": [],
                                "warnings": []}
    records = list(_records((case_path,)))
    try:
        if len(records) != 1:
            raise CaseInvalid([Problem("", "check takes one case; use validate or batch for "
                                           "many", code="input.one_case")], source)
        case, locator = parse_record(records[0])
        prepared = LetterPipeline(policy=policy_id).prepare(case)
    except CaseInvalid as exc:
        document["problems"] = [problem_item(p) for p in exc.problems]
        return _finish(document, output_format, ExitCode.INVALID)
    except PolicyError as exc:
        document["problems"] = [problem_item(Problem("", str(exc), code="policy.unknown"))]
        return _finish(document, output_format, ExitCode.INVALID)
    document["warnings"] = [problem_item(w, "warning") for w in prepared.warnings]
    if prepared.check is None:
        document["problems"] = [problem_item(Problem("", str(prepared.no_policy),
                                                     code="policy.none"))]
        return _finish(document, output_format, ExitCode.INVALID)
    kinds = {c.id: c.kind for c in prepared.check.policy.criteria}
    for result in prepared.check.results:
        path = CRITERION_PATHS.get(kinds.get(result.id, ""), "")
        line = locator.find((path,))[0] if path else None
        verdict = result.verdict.value
        document["results"].append({
            "code": VERDICT_CODES[verdict], "criterion": result.id, "label": result.label,
            "verdict": verdict.replace(" ", "_"), "path": path, "line": line,
            "message": f"{result.label}: {verdict}"})
    document["policy"] = {"id": prepared.check.policy.id, "title": prepared.check.policy.title}
    document["all_met"] = prepared.check.all_met
    return _finish(document, output_format,
                   ExitCode.OK if prepared.check.all_met else ExitCode.NOT_MET)


def _finish(document: dict[str, Any], output_format: str, code: ExitCode) -> int:
    document["exit_code"] = int(code)
    if output_format == "json":
        emit(document)
    else:
        lines = [{"kind": "problem", **p} for p in document["problems"]]
        lines += [{"kind": "criterion", **r} for r in document["results"]]
        lines += [{"kind": "warning", **w} for w in document["warnings"]]
        lines.append({"kind": "summary", "command": "check", "source": document["source"],
                      "policy": document["policy"], "all_met": document["all_met"],
                      "exit_code": int(code)})
        emit_lines(lines)
    return int(code)
