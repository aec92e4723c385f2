"""The case JSON Schema tells the truth: it never rejects a case `validate` accepts, and where it
can express a rule (shapes, enums, ranges, true/false words) it rejects what `validate` rejects."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from priorauth.case.parse import _CaseLoader, case_from_data
from priorauth.case.schema import CASE_SCHEMA_ID, case_json_schema
from priorauth.errors import CaseInvalid
from tests.conftest import SAMPLES, VALID_SAMPLES

VALIDATOR = jsonschema.Draft202012Validator(case_json_schema())
BASE: dict[str, Any] = json.loads(json.dumps(yaml.load(
    (SAMPLES / "chronic-migraine-with-aura.yaml").read_text("utf-8"), Loader=_CaseLoader),
    default=str))

Path = tuple[str | int, ...]
TEXT = st.one_of(st.text(max_size=12), st.integers(-10**6, 10**6),
                 st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none())
NUMBER = st.one_of(st.integers(-50, 300), st.floats(-50, 300, allow_nan=False),
                   st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none(),
                   st.text(max_size=4))
BOOL_WORDS = ["true", "false", "yes", "no", "on", "off", "y", "n", "t", "f", "1", "0"]
BOOLEAN = st.one_of(
    st.booleans(), st.none(), st.integers(-2, 3), st.text(max_size=5),
    st.sampled_from(BOOL_WORDS).flatmap(
        lambda w: st.sampled_from([w, w.upper(), w.capitalize(), f" {w}", f"{w}."])))


def _code(regex: str) -> st.SearchStrategy[Any]:
    """Near-misses and hits around a code's shape, with stray spaces and case."""
    return st.one_of(st.from_regex(regex, fullmatch=True), TEXT,
                     st.from_regex(regex, fullmatch=True).map(lambda s: f" {s.lower()} "),
                     st.text(alphabet="0123456789ABCDEFGJTUVXZ.- gj\x1c\u3000", max_size=14))


# (path in the case, values to try, whether the schema can express every rule on this field)
FIELDS: list[tuple[Path, st.SearchStrategy[Any], bool]] = [
    (("patient", "member_id"), TEXT, False),
    (("patient", "given_name"), TEXT, False),
    (("provider", "npi"), _code(r"[12][0-9]{9}"), False),
    (("provider", "address", "state"), _code(r"[A-Z]{2}"), True),
    (("provider", "address", "postal_code"), _code(r"[0-9]{5}(-[0-9]{4})?"), True),
    (("provider", "phone"), _code(r"[0-9+() .x-]{7,25}"), True),
    (("id",), _code(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"), True),
    (("diagnoses", 0, "code"), _code(r"G4[34]\.[0-9A-Z]{1,4}"), False),
    (("requested", "codes", "cpt", 0), _code(r"[0-9]{4}[0-9FTU]"), True),
    (("requested", "codes", "hcpcs", 0), _code(r"[A-Z][0-9]{4}"), False),
    (("requested", "codes", "ndc"), _code(r"[0-9]{5}-?[0-9]{4}-?[0-9]{2}"), True),
    (("requested", "sessions"), NUMBER, True),
    (("requested", "infusion_hours"), NUMBER, True),
    (("burden", "months_at_this_frequency"), NUMBER, True),
    (("screening", "psychosis_history"), BOOLEAN, True),
    (("screening", "pregnancy"), BOOLEAN, True),
    (("prior_therapies", 0, "role"), st.one_of(TEXT, st.sampled_from(
        ["acute", "preventive", "Preventive", "procedure", "rehabilitation"])), True),
    (("letter", "kind"), st.one_of(TEXT, st.sampled_from(["initial", "peer_to_peer"])), True),
    (("patient", "date_of_birth"), st.one_of(st.dates().map(str), TEXT,
                                             st.dates().map(lambda d: f" {d} ")), False),
]


def _set(data: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    node: Any = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return data


def _validate_accepts(data: dict[str, Any]) -> bool:
    try:
        case_from_data(copy.deepcopy(data))
    except CaseInvalid:
        return False
    return True


def _schema_accepts(data: dict[str, Any]) -> bool:
    return VALIDATOR.is_valid(json.loads(json.dumps(data)))


def test_schema_is_draft_2020_12_with_a_stable_id_and_described_properties() -> None:
    schema = case_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == CASE_SCHEMA_ID
    props = [p for d in [*schema["$defs"].values(), schema]
             for p in (d.get("properties") or {}).values()]
    assert len(props) > 100 and all(p.get("description") for p in props)
    patterns = json.dumps(schema)
    for needle in ("[12]( *[0-9]){9}", "[A-Z]{2}", "[0-9]{4}[0-9FTUftu]", "(-*[0-9]){11}"):
        assert needle in patterns


@pytest.mark.parametrize("path", VALID_SAMPLES, ids=lambda p: p.name)
def test_every_valid_sample_passes_the_schema(path: Any) -> None:
    data = yaml.load(path.read_text("utf-8"), Loader=_CaseLoader)
    assert _schema_accepts(json.loads(json.dumps(data, default=str)))


@pytest.mark.parametrize(("path", "value"), [
    (("patient", "member_id"), 123456),
    (("screening", "psychosis_history"), "no"),
    (("screening", "psychosis_history"), 0),
    (("requested", "sessions"), "5"),
    (("provider", "npi"), 1234567893),
])
def test_yaml_friendly_values_the_loader_keeps(path: Path, value: Any) -> None:
    data = _set(BASE, path, value)
    assert _validate_accepts(data) and _schema_accepts(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_schema_agrees_with_validate(data: st.DataObject) -> None:
    path, values, expressible = data.draw(st.sampled_from(FIELDS))
    value = data.draw(values)
    case = _set(BASE, path, value)
    accepted = _validate_accepts(case)
    by_schema = _schema_accepts(case)
    if accepted:
        assert by_schema, f"schema rejects a case validate accepts ({path})"
    if isinstance(value, int | float) and not isinstance(value, bool) and values is not NUMBER:
        expressible = False  # a number as text: no pattern applies to a JSON number
    if isinstance(value, str) and values is NUMBER:
        expressible = False  # a number as text: the schema cannot apply the range to it
    if expressible:
        assert by_schema == accepted, f"schema and validate disagree on {path}"
