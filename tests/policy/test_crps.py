"""CRPS: the Budapest clinical criteria (met / not met / unknown, with the crps: field to fill)
and the ASRA/AAPM/ASA 2018 consensus point by point (the requested regimen against the trial
regimens, setting and monitoring, positive response), in the checklist and in the letter."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import priorauth
from priorauth.case.parse import case_from_data
from priorauth.errors import CaseInvalid, PolicyError
from priorauth.policy.checks import CheckReport, CriterionResult, Verdict, check_case
from priorauth.policy.spec import parse_policy
from tests.conftest import apply_changes, pdf_pages

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
CRPS: dict[str, Any] = yaml.safe_load((SAMPLES / "crps.yaml").read_text(encoding="utf-8"))


def crps_case(**changes: Any) -> priorauth.Case:
    """The CRPS sample with dotted changes (``crps__vasomotor__sign=False``); None removes."""
    data = copy.deepcopy(CRPS)
    return case_from_data(apply_changes(data, changes))


def result(report: CheckReport, criterion_id: str) -> CriterionResult:
    return next(r for r in report.results if r.id == criterion_id)


def facts(found: CriterionResult) -> str:
    return "\n".join(f.text for f in found.facts)


def letter_text(case: priorauth.Case) -> str:
    return " ".join(pdf_pages(priorauth.render_letter(case).data))


# --- Budapest ----------------------------------------------------------------------------------

def test_sample_meets_budapest_and_every_consensus_point() -> None:
    report = check_case(crps_case())
    assert report.all_met, [(r.id, r.verdict, r.summary) for r in report.unmet]
    budapest = result(report, "budapest")
    assert budapest.summary == ("symptoms in 4 of 4 categories, signs in 3 of 4; pain "
                                "disproportionate; no better diagnosis")


@pytest.mark.parametrize(("changes", "verdict", "wanted"), [
    # two symptom categories documented, two recorded absent: fewer than 3 possible
    ({"crps__vasomotor__symptom": False, "crps__motor_trophic__symptom": False},
     Verdict.not_met, "symptoms reported in 2 of 4 categories (at least 3 needed)"),
    # only one sign category, the rest recorded absent
    ({"crps__vasomotor__sign": False, "crps__sudomotor_edema__sign": False,
      "crps__motor_trophic__sign": False},
     Verdict.not_met, "signs at evaluation in 1 of 4 categories (at least 2 needed)"),
    ({"crps__disproportionate_pain": False}, Verdict.not_met,
     "pain recorded as not disproportionate"),
    ({"crps__no_better_diagnosis": False}, Verdict.not_met,
     "another diagnosis recorded as possibly explaining"),
    # signs: 1 present, 1 unknown (motor_trophic), 2 absent -> could still reach 2: unknown
    ({"crps__vasomotor__sign": False, "crps__sensory__sign": False}, Verdict.unknown,
     "not documented: crps.motor_trophic.sign"),
    ({"crps__no_better_diagnosis": "unknown"}, Verdict.unknown,
     "fill crps.no_better_diagnosis"),
    ({"crps__disproportionate_pain": None}, Verdict.unknown, "fill crps.disproportionate_pain"),
    ({"crps": None}, Verdict.unknown, "fill the crps: section"),
])
def test_budapest_verdicts(changes: dict[str, Any], verdict: Verdict, wanted: str) -> None:
    found = result(check_case(crps_case(**changes)), "budapest")
    assert found.verdict is verdict
    assert wanted in found.summary + "\n" + facts(found)


def test_a_part_not_met_outranks_an_unknown_one() -> None:
    found = result(check_case(crps_case(crps__disproportionate_pain=False,
                                        crps__no_better_diagnosis=None)), "budapest")
    assert found.verdict is Verdict.not_met


@given(st.lists(st.sampled_from([True, False, None]), min_size=8, max_size=8))
@settings(max_examples=60, deadline=None)
def test_budapest_counts_follow_harden(findings: list[bool | None]) -> None:
    """Met exactly when >= 3 symptom and >= 2 sign categories are true (pain and no better
    diagnosis true); not met when even every unknown could not reach a threshold."""
    keys = ["sensory", "vasomotor", "sudomotor_edema", "motor_trophic"]
    section: dict[str, Any] = {"disproportionate_pain": True, "no_better_diagnosis": True}
    for index, key in enumerate(keys):
        section[key] = {"symptom": findings[index], "sign": findings[index + 4]}
    found = result(check_case(crps_case(crps=section)), "budapest")
    symptoms, signs = findings[:4], findings[4:]
    if symptoms.count(True) >= 3 and signs.count(True) >= 2:
        assert found.verdict is Verdict.met
    elif symptoms.count(True) + symptoms.count(None) < 3 or \
            signs.count(True) + signs.count(None) < 2:
        assert found.verdict is Verdict.not_met
    else:
        assert found.verdict is Verdict.unknown


def test_budapest_section_is_strict() -> None:
    with pytest.raises(CaseInvalid) as error:
        crps_case(crps__sensory__symtom=True)
    assert "crps.sensory.symtom" in str(error.value.problems)
    with pytest.raises(CaseInvalid):
        crps_case(crps__sensory__sign="perhaps")
    late = {**CRPS["crps"], "evaluated": "2027-01-01"}
    with pytest.raises(CaseInvalid, match=re.escape("crps.evaluated")):
        crps_case(crps=late)


# --- the regimen against the trials -----------------------------------------------------------

@pytest.mark.parametrize(("changes", "verdict", "wanted"), [
    ({}, Verdict.met, "matches the regimen studied in Schwartzman 2009"),
    ({"requested__sessions": 5}, Verdict.not_met, "5 infusions (trial: 10)"),
    ({"requested__infusion_hours": 2}, Verdict.not_met, "2 hours per infusion (trial: 4 hours)"),
    ({"requested__regimen__rate": 0.5}, Verdict.not_met, "0.5 mg/kg/h (trial: up to 0.35"),
    ({"requested__regimen__max_mg_per_h": 40}, Verdict.not_met,
     "a cap of 40 mg/h (trial: not over 25 mg/h)"),
    ({"requested__regimen__max_mg_per_h": None}, Verdict.unknown,
     "fill requested.regimen.max_mg_per_h"),
    ({"requested__regimen__unit": "mg/h", "requested__regimen__rate": 20}, Verdict.unknown,
     "fill requested.regimen.unit"),
    ({"requested__regimen": None}, Verdict.unknown, "fill requested.regimen"),
    # a continuous 4-day racemic infusion: Sigtermans studied S(+)-ketamine, so no match
    ({"requested__regimen": {"rate": 22, "unit": "mg/h", "continuous": True},
      "requested__sessions": 4, "requested__infusion_hours": 24}, Verdict.not_met,
     "racemic ketamine (trial: S(+)-ketamine)"),
])
def test_regimen_verdicts(changes: dict[str, Any], verdict: Verdict, wanted: str) -> None:
    found = result(check_case(crps_case(**changes)), "regimen")
    assert found.verdict is verdict, found.summary
    assert wanted in found.summary + "\n" + facts(found)


def test_setting_and_response_name_the_field_to_fill() -> None:
    report = check_case(crps_case(requested__positive_response=None,
                                  requested__monitoring=None))
    assert result(report, "setting").verdict is Verdict.unknown
    assert "fill requested.monitoring" in result(report, "setting").summary
    assert result(report, "response").summary == "not stated; fill requested.positive_response"


def test_policy_files_check_the_new_kinds() -> None:
    base = "id: p\ntitle: t\napplies_to: [G90.5]\ncriteria:\n  - {id: a, label: A, %s}\n"
    for body, message in [("budapest: research", "budapest must be 'clinical'"),
                          ("regimen_in: migraine", "regimen_in must name an indication"),
                          ("documented: [patient.member_id]", "documented must list fields")]:
        with pytest.raises(PolicyError, match=re.escape(message)):
            parse_policy(base % body, "p.yaml")
    with pytest.raises(PolicyError, match="points must list ids"):
        parse_policy(base % "budapest: clinical"
                     + "consensus: {evidence: cohen-2018, points: [zz]}\n", "p.yaml")
    policy = parse_policy(base % "regimen_in: crps"
                          + "consensus: {evidence: cohen-2018, points: [a]}\n", "p.yaml")
    assert policy.consensus == ("a",) and policy.consensus_evidence == "cohen-2018"


# --- the letter ---------------------------------------------------------------------------------

def test_letter_shows_the_budapest_table_and_the_consensus_points() -> None:
    text = letter_text(crps_case())
    assert "CRPS diagnostic criteria (Budapest clinical criteria)" in text
    assert "Category Symptom reported Sign on examination Findings" in text
    assert re.search(r"Motor / trophic .*? Yes Not documented reported stiffness", text)
    assert "Symptoms are reported in 4 of 4 categories (at least 3 required)" in text
    assert "The Budapest clinical criteria for CRPS are met." in text
    assert "Consensus guideline, point by point" in text
    assert "Schwartzman 2009" in text and "same regimen" in text
    assert "Matches a studied regimen" in text
    assert ("Contraindications Safety screening of 10/30/2026, section 5. "
            "No contraindication present") in text
    for word in ("requested.", "crps.", "facility.setting", "None "):
        assert word not in text


def test_letter_never_claims_a_regimen_match_it_lacks() -> None:
    text = letter_text(crps_case(requested__sessions=5, crps__vasomotor__sign=False,
                                 crps__sudomotor_edema__sign=False,
                                 requested__positive_response=None))
    assert "Differs from the studied regimens" in text
    assert "Matches a studied regimen" not in text and "same regimen" not in text
    assert "differs: 5 infusions (trial: 10)" in text
    assert "signs were found on examination in 1 of 4 (at least 2 required)" in text
    assert "The record does not establish every part of the Budapest clinical criteria." in text
    assert "The Budapest clinical criteria for CRPS are met" not in text
    assert "Positive response: not stated" in text and "Not stated" in text
    # unmet criteria stay out of "Criteria addressed"
    assert "Requested regimen matches" not in text
    assert "Budapest clinical criteria for CRPS documented and met" not in text


def test_migraine_letter_has_neither_section() -> None:
    case = priorauth.load_case(SAMPLES / "chronic-migraine-with-aura.yaml")
    text = letter_text(case)
    assert "Budapest" not in text and "point by point" not in text


def test_peer_to_peer_summary_states_budapest_and_regimen() -> None:
    data = copy.deepcopy(CRPS)
    data["letter"]["kind"] = "peer_to_peer"
    data["requested"]["sessions"] = 5
    data["crps"]["no_better_diagnosis"] = "unknown"
    text = " ".join(pdf_pages(priorauth.render_letter(case_from_data(data)).data))
    assert "Budapest clinical criteria (10/30/2026): symptoms in 4 of 4 categories" in text
    assert "no better diagnosis: not documented. Not every part established." in text
    assert "Schwartzman 2009: differs: 5 infusions (trial: 10)" in text
    assert "same regimen" not in text
