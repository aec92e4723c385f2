"""PHI under ``--redact`` / ``PRIORAUTH_REDACT=1`` (12.4): a case whose every string is a unique
marker goes through validate, check, render, batch and fhir, valid and with every field made
invalid, and no marker may appear in stderr, batch and import reports, or log records.

What is searched: everything a command prints about the record (stderr: messages, warnings,
progress), the JSON reports, and every log record any logger emits. What is not: the products
themselves (the letter PDF, the checklist ``check`` prints on stdout, the draft case ``fhir``
writes), which exist to carry the record.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from priorauth.cli import main
from priorauth.errors import CaseInvalid, Problem
from tests.hostile.phi_markers import (
    PREFIX,
    UNIQUE_DATES,
    all_markers,
    invalid_cases,
    marked_case,
)

DATA, MARKED, KEPT = marked_case()
INVALID = invalid_cases(DATA, MARKED, KEPT)
MARKERS = all_markers(DATA, INVALID)
DATES = {d for d in UNIQUE_DATES.values()} | {
    f"{d[5:7]}/{d[8:10]}/{d[:4]}" for d in UNIQUE_DATES.values()}


class _AllLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture(autouse=True)
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend stderr is an interactive terminal: then only --redact keeps values out."""
    monkeypatch.setattr("priorauth.cli._common.stderr_is_terminal", lambda: True)


@pytest.fixture
def logs() -> Iterator[_AllLogs]:
    handler = _AllLogs()
    root = logging.getLogger()
    old = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old)


def _leaks(text: str) -> list[str]:
    """Markers (case-insensitive: codes and headings may be upper-cased) and unique dates."""
    lowered = text.lower()
    found = sorted(m for m in MARKERS if m.lower() in lowered)
    found += sorted(d for d in DATES if d in text)
    if PREFIX.lower() in lowered and not found:
        found.append(f"a fragment of a marker ({PREFIX}...)")
    return found


def _write_cases(tmp_path: Path) -> tuple[Path, list[Path]]:
    folder = tmp_path / "cases"
    folder.mkdir()
    valid = folder / "valid.yaml"
    valid.write_text(yaml.safe_dump(DATA, allow_unicode=True, sort_keys=False), "utf-8")
    invalid = []
    for index, case in enumerate(INVALID):
        path = folder / f"invalid-{index}.yaml"
        path.write_text(yaml.safe_dump(case, allow_unicode=True, sort_keys=False), "utf-8")
        invalid.append(path)
    return valid, invalid


REDACT_MODES = [pytest.param(["--redact"], {}, id="--redact"),
                pytest.param([], {"PRIORAUTH_REDACT": "1"}, id="PRIORAUTH_REDACT")]


def _invoke(flags: list[str], env: dict[str, str], *args: str) -> Any:
    result = CliRunner(env=env).invoke(main, [*flags, *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result


def test_the_marker_case_marks_every_kind_of_string() -> None:
    marked = {".".join(str(p) for p in path if not isinstance(p, int)) for path in MARKED}
    for field in ("patient.given_name", "patient.family_name", "patient.member_id",
                  "patient.group_number", "diagnoses.description", "prior_therapies.name",
                  "prior_therapies.details", "prior_therapies.source", "rationale",
                  "provider.name", "payer.name", "letter.reference", "requested.dose",
                  "attachments.title", "burden.source"):
        assert field in marked, field
    assert len(INVALID) >= 4 and len(MARKERS) > 150


@pytest.mark.parametrize(("flags", "env"), REDACT_MODES)
def test_no_marker_in_validate_check_and_render(tmp_path: Path, logs: _AllLogs,
                                                flags: list[str], env: dict[str, str]) -> None:
    valid, invalid = _write_cases(tmp_path)
    outputs: list[tuple[str, str]] = []
    result = _invoke(flags, env, "validate", str(valid), *map(str, invalid))
    assert result.exit_code == 2
    outputs.append(("validate", result.stderr + result.stdout))
    for path in (valid, *invalid):
        result = _invoke(flags, env, "check", str(path))
        outputs.append((f"check {path.name} (stderr)", result.stderr))
        result = _invoke(flags, env, "render", str(path), "-o", str(tmp_path / "x.pdf"))
        outputs.append((f"render {path.name}", result.stderr + result.stdout))
    assert (tmp_path / "x.pdf").exists()  # the valid case rendered
    outputs.append(("logs", "\n".join(logs.lines)))
    leaks = {name: _leaks(text) for name, text in outputs if _leaks(text)}
    assert not leaks, leaks


@pytest.mark.parametrize(("flags", "env"), REDACT_MODES)
def test_no_marker_in_batch_output_or_report(tmp_path: Path, logs: _AllLogs,
                                             flags: list[str], env: dict[str, str]) -> None:
    valid, _ = _write_cases(tmp_path)
    ndjson = tmp_path / "cases.ndjson"
    ndjson.write_text("\n".join(json.dumps(c, default=str) for c in [DATA, *INVALID]), "utf-8")
    report = tmp_path / "report.json"
    result = _invoke(flags, env, "batch", str(valid.parent), str(ndjson), "-o",
                     str(tmp_path / "out"), "-j", "1", "--report", str(report))
    assert result.exit_code == 1, result.output
    records = json.loads(report.read_text("utf-8"))["records"]
    assert sorted(r["status"] for r in records).count("invalid") == 2 * len(INVALID)
    leaks = {name: _leaks(text) for name, text in [
        ("batch", result.stderr + result.stdout), ("report", report.read_text("utf-8")),
        ("logs", "\n".join(logs.lines))] if _leaks(text)}
    assert not leaks, leaks


def test_without_redact_a_terminal_sees_values(tmp_path: Path) -> None:
    """The control: the same run without --redact shows values, so the searches above can
    see a leak when there is one."""
    _, invalid = _write_cases(tmp_path)
    result = _invoke([], {}, "validate", *map(str, invalid))
    assert _leaks(result.stderr)


def test_report_is_clean_even_without_redact(tmp_path: Path) -> None:
    """Reports are files that travel: never a value, whatever the flags."""
    valid, _ = _write_cases(tmp_path)
    report = tmp_path / "report.json"
    _invoke([], {}, "batch", str(valid.parent), "-o", str(tmp_path / "out"), "-j", "1",
            "--report", str(report))
    assert not _leaks(report.read_text("utf-8"))


# --- values that become field paths -----------------------------------------------------------


@pytest.mark.parametrize("line", [
    "  address: {street: 100 Example Plaza, Qzvmkzz Apt 3, city: Columbus, state: OH, "
    "postal_code: \"43215\"}",
    "  Qzvmkzz Dana: 1",
    "  \"Qzvmkzz\\u0007\": 1",
])
@pytest.mark.parametrize(("flags", "env"), REDACT_MODES)
def test_a_value_typed_where_a_key_belongs_is_not_echoed(tmp_path: Path, line: str,
                                                         flags: list[str],
                                                         env: dict[str, str]) -> None:
    """A comma inside a flow mapping makes part of a value a *key*: the path must not repeat
    it (in messages and in the batch report's ``path``)."""
    text = (Path(__file__).parents[2] / "samples" / "chronic-migraine-with-aura.yaml").read_text(
        "utf-8")
    anchor = "  address: {street: 100 Example Plaza"
    start = text.index(anchor)
    end = text.index("\n", start)
    case = tmp_path / "cases" / "case.yaml"
    case.parent.mkdir()
    case.write_text(text[:start] + line + "\n" + text[end + 1:], "utf-8")
    result = _invoke(flags, env, "validate", str(case))
    assert result.exit_code == 2 and "Qzvmkzz".lower() not in result.output.lower(), \
        result.output
    assert "payer" in result.output
    report = tmp_path / "report.json"
    _invoke(flags, env, "batch", str(case.parent), "-o", str(tmp_path / "out"), "-j", "1",
            "--report", str(report))
    assert "qzvmkzz" not in report.read_text("utf-8").lower()


def test_repr_of_problems_and_errors_holds_no_value() -> None:
    problem = Problem("patient.member_id", "must not be empty", 3, 1, "case.yaml", "Qzvmkzz")
    error = CaseInvalid([problem], "case.yaml")
    for text in (repr(problem), str(problem), repr(error), str(error), str(error.args),
                 problem.format(), json.dumps(problem.to_dict())):
        assert "Qzvmkzz" not in text, text


# --- fhir -------------------------------------------------------------------------------------

FHIR_BUNDLE = Path(__file__).parents[1] / "fixtures" / "fhir" / "migraine-bundle.json"
FHIR_MARKED_KEYS = {"family", "given", "name", "line", "city", "text", "display", "valueString",
                    "subscriberId"}


def _marked_bundle() -> tuple[dict[str, Any], set[str]]:
    """The fixture Bundle with every name, address, free text and display a marker, the
    identifiers' values markers, and conditional / free-text references carrying markers."""
    bundle = json.loads(FHIR_BUNDLE.read_text("utf-8"))
    markers: set[str] = set()
    counter = iter(range(700, 2000))

    def mark() -> str:
        from tests.hostile.phi_markers import marker

        value = marker(next(counter))
        markers.add(value)
        return value

    def walk(node: Any, key: str | None = None, parent: dict[str, Any] | None = None) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k, node) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key, parent) for v in node]
        if isinstance(node, str) and (key in FHIR_MARKED_KEYS or (
                key == "value" and parent is not None and "system" in parent
                and parent.get("system") not in ("phone", "fax", "email",
                                                 "http://hl7.org/fhir/sid/us-npi"))):
            return mark()
        return node

    bundle = walk(bundle)
    # Two Conditions that point at their patient by search values (PHI) and by free text.
    conditions = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
    conditions[0]["resource"]["subject"] = {
        "reference": f"Patient?family={mark()}&birthdate=1961-07-23"}
    conditions[-1]["resource"]["subject"] = {"reference": f"{mark()} Dana"}
    # Free text where a code belongs (a Procedure status).
    procedure = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure")
    procedure["resource"]["status"] = f"{mark()} refused"
    return bundle, markers


@pytest.mark.parametrize(("flags", "env"), REDACT_MODES)
def test_no_marker_in_fhir_messages_or_report(tmp_path: Path, logs: _AllLogs,
                                              flags: list[str], env: dict[str, str]) -> None:
    bundle, markers = _marked_bundle()
    source = tmp_path / "bundle.json"
    source.write_text(json.dumps(bundle), "utf-8")
    report = tmp_path / "import.json"
    result = _invoke(flags, env, "fhir", str(source), "-o", str(tmp_path / "case.yaml"),
                     "--report", str(report))
    assert result.exit_code in (0, 1), result.output
    draft = (tmp_path / "case.yaml").read_text("utf-8")
    assert sum(m in draft for m in markers) > 10  # the markers did reach the product
    for name, text in [("fhir", result.stderr + result.stdout), ("report", report.read_text()),
                       ("logs", "\n".join(logs.lines))]:
        leaked = sorted(m for m in markers if m.lower() in text.lower())
        leaked += ["1961-07-23"] if "1961-07-23" in text else []
        assert not leaked, (name, leaked, text[:2000])


# --- codes a marker cannot stand in for --------------------------------------------------------


@pytest.mark.parametrize(("field", "value", "secret"), [
    (("diagnoses", 0, "code"), "G43.7", "G43.7"),        # a header code: names its children
    (("diagnoses", 0, "code"), "G43.799", "G43.7"),      # not in the table: names its parent
    (("evidence",), ["Qzvmkzz-2018"], "Qzvmkzz"),
])
@pytest.mark.parametrize(("flags", "env"), REDACT_MODES)
def test_codes_and_ids_are_not_echoed(tmp_path: Path, field: tuple[Any, ...], value: Any,
                                      secret: str, flags: list[str],
                                      env: dict[str, str]) -> None:
    from tests.hostile.phi_markers import put

    data = json.loads(json.dumps(DATA, default=str))
    put(data, field, value)
    case = tmp_path / "case.yaml"
    case.write_text(yaml.safe_dump(data, sort_keys=False), "utf-8")
    result = _invoke(flags, env, "validate", str(case))
    assert result.exit_code == 2
    assert secret not in result.stderr, result.stderr
    shown = _invoke([], {}, "validate", str(case))  # a terminal without --redact: the hint
    assert secret in shown.stderr


# --- a property: whatever text an EHR puts where text belongs, the report never repeats it ---

_TEXT_KEYS = sorted(FHIR_MARKED_KEYS)


def _text_paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _TEXT_KEYS and isinstance(value, str):
                found.append((*path, key))
            found += _text_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str) and path and path[-1] in _TEXT_KEYS:
                found.append((*path, index))
            found += _text_paths(value, (*path, index))
    return found


_BUNDLE = json.loads(FHIR_BUNDLE.read_text("utf-8"))
_PATHS = _text_paths(_BUNDLE)


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(_PATHS),
                          st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]),
                                  max_size=30)),
                min_size=1, max_size=12),
       st.sampled_from(["Patient?family={}&birthdate=1961-07-23", "{} Dana", "Patient/{}"]))
def test_fhir_report_never_repeats_text_from_the_record(
        edits: list[tuple[tuple[Any, ...], str]], reference: str) -> None:
    import copy
    import tempfile

    from priorauth.errors import PriorAuthError
    from priorauth.fhir import import_case
    from tests.hostile.phi_markers import put

    bundle = copy.deepcopy(_BUNDLE)
    planted = []
    for number, (path, text) in enumerate(edits):
        value = f"Qzvprop{number:02d}{text}"
        put(bundle, path, value)
        planted.append(f"Qzvprop{number:02d}")
    condition = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition")
    condition["resource"]["subject"] = {"reference": reference.format("Qzvpropref")}
    if not reference.startswith("Patient/{"):  # a literal reference is a resource id: shown
        planted.append("Qzvpropref")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "bundle.json"
        source.write_text(json.dumps(bundle), "utf-8")
        try:
            result = import_case(source)
        except PriorAuthError:
            return
    text = json.dumps(result.report.to_dict()) + "\n".join(result.report.lines())
    assert not [m for m in planted if m in text], text[:3000]
