"""YAML every user file shares (case, policy, priorauth-templates.yaml) and malformed policy files:
sets and merge keys are refused with a clear message, and a policy file that is wrong in any way
is a PolicyError (exit 2), never a traceback (12.11)."""

from __future__ import annotations

import copy
import datetime as dt
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from priorauth.cli import main
from priorauth.errors import PolicyError
from priorauth.policy.spec import parse_policy
from tests.conftest import SAMPLES
from tests.hostile.test_fuzz import YAML_TOKENS, any_char, scalars, structures

SAMPLE = SAMPLES / "chronic-migraine-with-aura.yaml"
SAMPLE_TEXT = SAMPLE.read_text("utf-8")
POLICY_TEXT = files("priorauth.reference").joinpath(
    "policies/ketamine-chronic-migraine.yaml").read_text("utf-8")
POLICY: dict[str, Any] = yaml.safe_load(POLICY_TEXT)

EXAMPLES = int(os.environ.get("PRIORAUTH_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=dt.timedelta(seconds=10), database=None,
                suppress_health_check=list(HealthCheck))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        repr(result.exception)
    return result.exit_code, result.output


def _case(tmp_path: Path, text: str) -> str:
    path = tmp_path / "case.yaml"
    path.write_text(text, "utf-8")
    return str(path)


# --- sets and merge keys --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["!!set {sumatriptan, rizatriptan}", "!!omap [{a: 1}]",
                                   "!!pairs [{a: 1}]", "!!binary aGVsbG8="])
def test_case_refuses_sets_and_other_typed_collections(tmp_path: Path, value: str) -> None:
    text = SAMPLE_TEXT.replace("  reference: PA-2026-0113", f"  reference: {value}")
    code, output = _run("validate", _case(tmp_path, text))
    assert code == 2 and "letter.reference" in output and "Traceback" not in output, output
    assert "(!!" in output


def test_case_refuses_merge_keys(tmp_path: Path) -> None:
    text = SAMPLE_TEXT.replace("  given_name: Dana\n",
                               "  <<: {given_name: Mergedname}\n  given_name: Dana\n")
    code, output = _run("validate", _case(tmp_path, text))
    assert code == 2 and "merge key (<<:)" in output and "patient" in output, output


def test_policy_refuses_sets(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY_TEXT.replace("evidence: [", "evidence: !!set {x: null}\nold: ["),
                      "utf-8")
    code, output = _run("check", str(SAMPLE), "--policy", str(policy))
    assert code == 2 and "!!set" in output and "Traceback" not in output, output


def test_policy_refuses_merge_keys_and_aliases(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(POLICY_TEXT + "\nx: &a {min_weeks: 1}\ny: {<<: *a}\n", "utf-8")
    code, output = _run("check", str(SAMPLE), "--policy", str(policy))
    assert code == 2 and ("merge key" in output or "alias" in output), output
    merged = POLICY_TEXT.replace("adequate_trial:", "adequate_trial:\n  <<: {min_weeks: 1}", 1)
    policy.write_text(merged, "utf-8")
    code, output = _run("check", str(SAMPLE), "--policy", str(policy))
    assert code == 2 and "adequate_trial.<<: uses a YAML merge key" in output, output


@pytest.mark.parametrize("config", [
    "payers: !!set {a: null}\n",
    "payers:\n  - <<: {name: X}\n    name: Y\n    templates: {letter: letter}\n",
    "payers:\n  - name: X\n    name: Y\n    templates: {letter: letter}\n",
])
def test_templates_config_refuses_sets_merges_and_duplicates(tmp_path: Path, config: str) -> None:
    folder = tmp_path / "payer"
    folder.mkdir()
    (folder / "priorauth-templates.yaml").write_text(config, "utf-8")
    code, output = _run("render", str(SAMPLE), "--templates-dir", str(folder),
                        "-o", str(tmp_path / "x.pdf"))
    assert code == 2 and "priorauth-templates.yaml" in output, output
    assert any(word in output for word in ("!!set", "merge key", "appears twice")), output
    code, output = _run("templates", "lint", str(folder))
    assert code in (1, 2) and any(word in output for word in ("!!set", "merge key", "twice"))


# --- malformed policy files -----------------------------------------------------------------


def _policy_paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _policy_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _policy_paths(value, (*prefix, index))
    return found


POLICY_PATHS = [p for p in _policy_paths(POLICY) if p]
POLICY_WORDS = ["id", "label", "criteria", "diagnosis_in", "burden", "failed_classes",
                "failed_trial", "screening_clear", "request_codes", "any_of", "class", "classes",
                "min_weeks", "min_cycles", "at_least", "all_of", "count_by", "role", "severity",
                "requires", "word", "statement", "adequate_trial", "by_class", "evidence", "all",
                "early_stop_counts", "ehf", ">= 15", "== true", "preventive", "triptan"]
policy_values = st.one_of(structures, st.sampled_from(POLICY_WORDS),
                          st.lists(st.sampled_from(POLICY_WORDS), max_size=4),
                          st.dictionaries(st.sampled_from(POLICY_WORDS), scalars, max_size=4))


@st.composite
def mutated_policy(draw: st.DrawFn) -> Any:
    data = copy.deepcopy(POLICY)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(POLICY_PATHS))
        parent: Any = data
        try:
            for part in path[:-1]:
                parent = parent[part]
            action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
            if action == "delete" and isinstance(parent, dict):
                parent.pop(path[-1], None)
            elif action == "add" and isinstance(parent, dict):
                parent[draw(st.sampled_from(POLICY_WORDS))] = draw(policy_values)
            else:
                parent[path[-1]] = draw(policy_values)
        except (KeyError, IndexError, TypeError):
            continue
    return data


@st.composite
def policy_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["dumped", "dumped", "mutated", "tokens"]))
    if kind == "dumped":
        try:
            return yaml.safe_dump(draw(mutated_policy()), allow_unicode=True)
        except (yaml.YAMLError, UnicodeEncodeError):
            return "{}"
    if kind == "mutated":
        text = POLICY_TEXT
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            insert = draw(st.one_of(st.sampled_from(YAML_TOKENS), st.text(any_char, max_size=8)))
            text = text[:at] + insert + text[at + draw(st.integers(0, 20)):]
        return text
    return "".join(draw(st.lists(st.sampled_from(YAML_TOKENS + POLICY_WORDS), max_size=40)))


@FUZZ
@given(policy_texts())
def test_any_policy_file_parses_or_is_a_policy_error(text: str) -> None:
    try:
        parse_policy(text, "fuzz.yaml")
    except PolicyError as exc:
        assert str(exc) and "Traceback" not in str(exc)


@pytest.mark.parametrize("text", [
    "id: x\ntitle: t\ncriteria: [{label: a, diagnosis_in: [G43], min_months_since_onset: 1.5}]",
    "id: x\ntitle: t\ncriteria: [{label: a, failed_trial: {class: triptan, distinct_drugs: x}}]",
    "id: x\ntitle: t\ncriteria: [{label: a, burden: {headache_days_per_month: '>= 1e400'}}]",
    "id: x\ntitle: t\ncriteria: [{label: a, screening_clear: [[1]]}]",
    "id: x\ntitle: t\ncriteria: [{label: a, failed_classes: {at_least: 1, role: [1]}}]",
    "id: x\ntitle: t\ncriteria: [{label: a, failed_classes: {at_least: 1, all_of: 3}}]",
    "id: x\ntitle: t\nadequate_trial: [1]\ncriteria: [{label: a, diagnosis_in: [G43]}]",
    "id: x\ntitle: t\nadequate_trial: {by_class: [1]}\ncriteria: [{label: a, diagnosis_in: [G]}]",
    "id: x\ntitle: t\nseverity: 3\ncriteria: [{label: a, diagnosis_in: [G43]}]",
    "id: x\ntitle: t\ncriteria: [{label: a, diagnosis_in: [G43]}]\nevidence: 3",
    "id: x\ntitle: t\ncriteria: 7",
    "id: [1]\ntitle: t\ncriteria: [{label: a, diagnosis_in: [G43]}]",
    "\xff\xfe",
])
def test_malformed_policy_files_are_exit_2_without_traceback(tmp_path: Path, text: str) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    code, output = _run("check", str(SAMPLE), "--policy", str(policy))
    assert code in (0, 1, 2) and "Traceback" not in output, output
    if code == 2:
        assert "policy" in output.lower()


# --- list lengths capped before anything is validated ---------------------------------------


def test_100k_diagnoses_are_refused_before_any_is_validated(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    """Assert on the algorithm, not on time: the model never sees an oversized list (YAML file,
    JSON file and parsed data alike), so no Diagnosis is built (it took 6.7 s before)."""
    import json

    from priorauth import parse_case
    from priorauth.case import model
    from priorauth.case.model import MAX_DIAGNOSES
    from priorauth.case.parse import case_from_data
    from priorauth.errors import CaseInvalid

    validated = 0

    def counting(cls: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal validated
        validated += 1
        raise AssertionError("an oversized list reached the model")

    monkeypatch.setattr(model.Case, "model_validate", classmethod(counting))
    many = 100_000
    yaml_text = SAMPLE_TEXT.replace("diagnoses:\n", "diagnoses:\n" + "  - {code: G43.909}\n"
                                    * 30_000, 1)
    data = yaml.safe_load(SAMPLE_TEXT)
    data["diagnoses"] = [{"code": "G43.909"}] * many
    json_text = json.dumps(dict(data, diagnoses=data["diagnoses"][:30_000]), default=str)
    for call in (lambda: parse_case(yaml_text.encode(), format="yaml", source="big.yaml"),
                 lambda: parse_case(json_text.encode(), format="json", source="big.json"),
                 lambda: case_from_data(data)):
        with pytest.raises(CaseInvalid) as caught:
            call()
        assert [(p.path, p.message) for p in caught.value.problems] == [
            ("diagnoses", f"has too many items (at most {MAX_DIAGNOSES})")]
    assert validated == 0


@pytest.mark.parametrize("where", ["prior_therapies[0].notes", "unknown_list"])
def test_lists_the_model_does_not_cap_are_capped_too(where: str) -> None:
    from priorauth.case.parse import MAX_LIST, case_from_data
    from priorauth.errors import CaseInvalid

    data = yaml.safe_load(SAMPLE_TEXT)
    if "[" in where:
        data["prior_therapies"][0]["notes"] = ["x"] * (MAX_LIST + 1)
    else:
        data[where] = list(range(MAX_LIST + 1))
    with pytest.raises(CaseInvalid) as caught:
        case_from_data(data)
    assert caught.value.problems[0].path == where
    assert "too many items" in caught.value.problems[0].message


def test_policy_text_with_a_lone_surrogate_is_a_policy_error() -> None:
    """Found by the fuzz: the C YAML parser raised UnicodeEncodeError on text from the API."""
    with pytest.raises(PolicyError, match="broken character"):
        parse_policy("\ud800" + POLICY_TEXT, "api")


@pytest.mark.parametrize(("text", "message"), [
    ("id: x\ntitle: t\ncriteria: [{label: a, failed_classes: {at_least: 1, role: [1]}}]",
     "role must be one of"),
    ("id: x\ntitle: t\nadequate_trial: [1]\ncriteria: [{label: a, diagnosis_in: [G43]}]",
     "adequate_trial: must be a mapping"),
    ("id: x\ntitle: t\napplies_to: 3\ncriteria: [{label: a, diagnosis_in: [G43]}]",
     "applies_to: must be a list"),
    ("id: x\ntitle: t\ncriteria: [{label: a, failed_trial: {class: triptan, distinct_drugs: x}}]",
     "distinct_drugs must be a whole number"),
    ("id: x\ntitle: t\nadequate_trial: {early_stop_counts: 3}\n"
     "criteria: [{label: a, diagnosis_in: [G43]}]", "early_stop_counts must be a list"),
    ("id: x\ntitle: t\nadequate_trial: {by_class: [1]}\ncriteria: [{label: a, diagnosis_in: [G]}]",
     "by_class: must map class ids"),
])
def test_policy_shapes_found_by_fuzzing_are_named(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        parse_policy(text, "p.yaml")
