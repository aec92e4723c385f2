"""Machine-readable output (``--format json|ndjson``) for validate, check, fhir and evidence list.

Every item a pipeline may branch on has a stable ``code`` (:data:`priorauth.codes.CODES`), the
field ``path``, the ``line`` when known and a ``message`` that never holds a record value (the
offending value is never written, whatever the terminal). The shapes are described by the JSON
Schema shipped as ``priorauth/reference/output.schema.json`` and documented in
``docs/machine-output.md``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from priorauth.codes import CODES
from priorauth.errors import Problem

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT_SCHEMA_ID = "urn:priorauth:schema:output:1"
"""The ``$id`` of the output schema; every JSON document names it in ``schema``."""

# Messages of these codes may quote the record (a description as typed): in machine output
# the code's fixed meaning stands in for them.
_VALUE_BEARING = ("warning.description_differs", "warning.therapy_class", "warning.glyph")


def format_option(command: F) -> F:
    """``--format text|json|ndjson``: text for people (the default), JSON for pipelines."""
    return click.option(
        "--format", "output_format", type=click.Choice(["text", "json", "ndjson"]),
        default="text", show_default=True,
        help="text for people; json (one document) or ndjson (one object a line) for "
             "pipelines, on stdout, described by the output schema shipped with priorauth.",
    )(command)


def problem_item(problem: Problem, severity: str = "error") -> dict[str, Any]:
    """One problem as JSON: code, severity, path, line, column, message; never the value."""
    message = CODES.get(problem.code, problem.message) if problem.code in _VALUE_BEARING \
        else problem.message
    item: dict[str, Any] = {"code": problem.code, "severity": severity, "path": problem.path,
                            "line": problem.line, "message": message}
    if problem.column is not None:
        item["column"] = problem.column
    return item


def emit(document: dict[str, Any]) -> None:
    """One JSON document on stdout."""
    click.echo(json.dumps({"schema": OUTPUT_SCHEMA_ID, **document}, indent=2,
                          ensure_ascii=False, default=str))


def emit_lines(items: Iterable[dict[str, Any]]) -> None:
    """NDJSON on stdout: one compact object per line, each naming its ``kind``."""
    for item in items:
        click.echo(json.dumps(item, ensure_ascii=False, separators=(",", ":"), default=str))
