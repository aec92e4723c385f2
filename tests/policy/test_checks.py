"""Policy criteria: each kind met / not met / unknown, the edge cases of step therapy, severity,
the checklist command and what the letter may say."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from priorauth.case.model import Case
from priorauth.case.parse import case_from_data, load_case
from priorauth.cli import main
from priorauth.errors import NoPolicyError, PolicyError
from priorauth.letter.context import build_context
from priorauth.policy.checks import CheckReport, Verdict, check_case, record_warnings
from priorauth.policy.spec import bundled_policies, get_policy, parse_policy
from tests.conftest import apply_changes

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BASE: dict[str, Any] = yaml.safe_load(
    (SAMPLES / "chronic-migraine-with-aura.yaml").read_text(encoding="utf-8"))


def therapy(name: str, role: str = "preventive", start: str = "2020-01-01",
            end: str | None = "2020-06-01", outcome: str = "inadequate_response",
            **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"name": name, "role": role, "start": start, "outcome": outcome,
                            **extra}
    if end is not None:
        data["end"] = end
    return data


def make_case(therapies: list[dict[str, Any]] | None = None, **changes: Any) -> Case:
    data = copy.deepcopy(BASE)
    if therapies is not None:
        data["prior_therapies"] = therapies
    return case_from_data(apply_changes(data, changes))


def result(report: CheckReport, criterion_id: str) -> Any:
    return next(r for r in report.results if r.id == criterion_id)


def facts(report: CheckReport, criterion_id: str) -> str:
    return "\n".join(f.text for f in result(report, criterion_id).facts)


# --- samples: the verdicts a headache specialist would give --------------------------------

@pytest.mark.parametrize(
    ("sample", "policy", "all_met", "severity"),
    [("chronic-migraine-with-aura", "ketamine-chronic-migraine", True, "refractory"),
     ("chronic-migraine-after-cgrp-botox", "ketamine-chronic-migraine", True, "refractory"),
     ("crps", "ketamine-crps", True, None),
     ("fails-criteria", "ketamine-chronic-migraine", False, None)],
)
def test_samples(sample: str, policy: str, all_met: bool, severity: str | None) -> None:
    report = check_case(load_case(SAMPLES / f"{sample}.yaml"))
    assert report.policy.id == policy
    assert report.all_met is all_met, [(r.id, r.verdict, r.summary) for r in report.unmet]
    assert report.severity == severity


def test_failing_sample_names_the_missing_steps() -> None:
    report = check_case(load_case(SAMPLES / "fails-criteria.yaml"))
    verdicts = {r.id: r.verdict for r in report.results}
    assert verdicts["preventive-classes"] is Verdict.not_met
    assert result(report, "preventive-classes").summary == (
        "2 of 3 classes counted: Beta-blockers (propranolol), Antiepileptics (topiramate)")
    assert "amitriptyline" in facts(report, "preventive-classes")
    assert "does not count: stopped for cost" in facts(report, "preventive-classes")
    assert verdicts["onabotulinumtoxina"] is Verdict.not_met
    assert verdicts["cgrp-mab"] is Verdict.not_met
    assert verdicts["intractable"] is Verdict.not_met
    assert verdicts["medication-overuse"] is Verdict.unknown


# --- failed_classes ------------------------------------------------------------------------

THREE_CLASSES = [therapy("propranolol"), therapy("topiramate", start="2020-07-01",
                                                 end="2020-12-01"),
                 therapy("amitriptyline", start="2021-01-01", end="2021-06-01")]


def test_three_classes_met() -> None:
    report = check_case(make_case(THREE_CLASSES))
    assert result(report, "preventive-classes").verdict is Verdict.met
    assert result(report, "preventive-classes").summary.startswith("3 classes: Beta-blockers")


def test_overlapping_trials_of_the_same_class_count_once() -> None:
    trials = [therapy("propranolol"), therapy("metoprolol", start="2020-03-01", end="2020-08-01"),
              therapy("topiramate", start="2020-07-01", end="2020-12-01")]
    report = check_case(make_case(trials))
    found = result(report, "preventive-classes")
    assert found.verdict is Verdict.not_met
    assert found.summary.startswith("2 of 3 classes counted")
    assert "metoprolol" in facts(report, "preventive-classes")
    assert "same class, counted once" in facts(report, "preventive-classes")


def test_tca_and_snri_are_one_ehf_class() -> None:
    trials = [therapy("propranolol"), therapy("amitriptyline", start="2020-07-01",
                                              end="2020-12-01"),
              therapy("venlafaxine", start="2021-01-01", end="2021-06-01")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.not_met


def test_five_weeks_stopped_for_cost_does_not_count() -> None:
    trials = [*THREE_CLASSES[:2],
              therapy("amitriptyline", start="2021-01-01", end="2021-02-05", outcome="cost")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.not_met
    assert ("amitriptyline, 01/01/2021–02/05/2021, "
            "5 wk, stopped for cost: does not count: stopped for cost (not a treatment failure)"
            ) in facts(report, "preventive-classes")


def test_three_weeks_stopped_for_intolerance_counts() -> None:
    trials = [*THREE_CLASSES[:2],
              therapy("amitriptyline", start="2021-01-01", end="2021-01-22",
                      outcome="intolerance")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.met
    assert "3 wk, stopped for adverse effects: counts" in facts(report, "preventive-classes")


def test_short_inadequate_trial_does_not_count() -> None:
    trials = [*THREE_CLASSES[:2],
              therapy("amitriptyline", start="2021-01-01", end="2021-02-05")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.not_met
    assert ("does not count: 5 wk from start, titration included (target_dose_reached not "
            "recorded); rule: at least 8 wk") in facts(report, "preventive-classes")


def test_unclassifiable_therapy_makes_the_count_unknown() -> None:
    trials = [*THREE_CLASSES[:2], therapy("Investigational compound X", start="2021-01-01",
                                                  end="2021-06-01")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.unknown
    assert "class unknown" in facts(report, "preventive-classes")


def test_class_inferred_from_the_catalogue_counts() -> None:
    trials = [therapy("Inderal LA"), therapy("Topamax", start="2020-07-01", end="2020-12-01"),
              therapy("Elavil", start="2021-01-01", end="2021-06-01")]
    assert result(check_case(make_case(trials)), "preventive-classes").verdict is Verdict.met


def test_wrong_recorded_class_is_a_warning_and_the_catalogue_decides() -> None:
    trials = [therapy("propranolol", **{"class": "antiepileptic"}),
              therapy("topiramate", start="2020-07-01", end="2020-12-01")]
    case = make_case(trials)
    warnings = record_warnings(case)
    assert [w.path for w in warnings] == ["prior_therapies[0].class"]
    assert "disagrees with the therapy catalogue" in warnings[0].message
    report = check_case(case)
    assert result(report, "preventive-classes").summary.startswith(
        "2 of 3 classes counted: Beta-blockers (propranolol), Antiepileptics (topiramate)")


def test_gabapentin_is_not_an_ehf_preventive_class() -> None:
    trials = [*THREE_CLASSES[:2], therapy("gabapentin", start="2021-01-01", end="2021-06-01")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.not_met
    assert "not one of the EHF 2020 preventive classes" in facts(report, "preventive-classes")


# --- failed_trial ---------------------------------------------------------------------------

def test_botox_cycles_met_unmet_unknown() -> None:
    def verdict(**extra: Any) -> Verdict:
        case = make_case([therapy("onabotulinumtoxinA", end="2020-09-01", **extra)])
        return result(check_case(case), "onabotulinumtoxina").verdict

    assert verdict(cycles=2) is Verdict.met
    assert verdict(cycles=1) is Verdict.not_met
    assert verdict() is Verdict.unknown
    assert verdict(outcome="intolerance", cycles=1) is Verdict.met


def test_cgrp_mab_three_months() -> None:
    short = make_case([therapy("erenumab", start="2020-01-01", end="2020-03-01")])
    assert result(check_case(short), "cgrp-mab").verdict is Verdict.not_met
    long = make_case([therapy("Aimovig", start="2020-01-01", end="2020-04-01")])
    assert result(check_case(long), "cgrp-mab").verdict is Verdict.met
    none = make_case([therapy("propranolol")])
    report = check_case(none)
    assert result(report, "cgrp-mab").verdict is Verdict.not_met
    assert result(report, "cgrp-mab").summary == (
        "no CGRP-pathway monoclonal antibody trial in the record")


def test_triptans_distinct_drugs_or_contraindication() -> None:
    same_drug = [therapy("sumatriptan", role="acute"),
                 therapy("Imitrex", role="acute", start="2020-07-01", end="2020-09-01")]
    assert result(check_case(make_case(same_drug)), "triptans").verdict is Verdict.not_met
    two = [therapy("sumatriptan", role="acute"),
           therapy("rizatriptan", role="acute", start="2020-07-01", end="2020-09-01")]
    assert result(check_case(make_case(two)), "triptans").verdict is Verdict.met
    contraindicated = [{"name": "sumatriptan", "role": "acute", "outcome": "contraindication"}]
    assert result(check_case(make_case(contraindicated)), "triptans").verdict is Verdict.met


# --- burden, diagnosis, screening, codes ----------------------------------------------------

def test_burden_met_unmet_unknown() -> None:
    assert result(check_case(make_case()), "frequency").verdict is Verdict.met
    low = make_case(burden__headache_days_per_month=12, burden__migraine_days_per_month=10)
    found = result(check_case(low), "frequency")
    assert found.verdict is Verdict.not_met
    assert "headache days per month: 12 (needs headache days per month >= 15)" in found.summary
    missing = make_case(burden__months_at_this_frequency=None)
    assert result(check_case(missing), "frequency").verdict is Verdict.unknown


def test_diagnosis_criteria() -> None:
    report = check_case(make_case(diagnoses=[{"code": "G43.709", "primary": True}]))
    assert result(report, "diagnosis").verdict is Verdict.met
    assert result(report, "intractable").verdict is Verdict.not_met
    crps = make_case(diagnoses=[{"code": "G90.512", "primary": True}])
    report = check_case(crps)
    assert report.policy.id == "ketamine-crps"
    assert result(report, "diagnosis").verdict is Verdict.unknown  # onset not recorded
    assert "onset date not recorded" in result(report, "diagnosis").summary
    recent = make_case(diagnoses=[{"code": "G90.512", "primary": True, "onset": "2026-08-01"}])
    assert result(check_case(recent), "diagnosis").verdict is Verdict.not_met
    other = make_case(diagnoses=[{"code": "G43.719", "primary": True}])
    assert result(check_case(other, "ketamine-crps"), "diagnosis").verdict is Verdict.not_met


def test_no_policy_for_the_diagnosis() -> None:
    case = make_case(diagnoses=[{"code": "G44.52", "primary": True}])
    with pytest.raises(NoPolicyError, match=r"no bundled payer policy applies"):
        check_case(case)
    context = build_context(case)  # the letter simply has no criteria section
    assert context.criteria == [] and context.severity is None


def test_screening_met_unmet_unknown() -> None:
    assert result(check_case(make_case()), "screening").verdict is Verdict.met
    present = make_case(screening__psychosis_history=True)
    found = result(check_case(present), "screening")
    assert (found.verdict, found.summary) == (Verdict.not_met, "present: History of psychosis")
    missing = make_case(screening__pregnancy=None)
    assert result(check_case(missing), "screening").verdict is Verdict.unknown
    male = make_case(screening__pregnancy=None, patient__sex="male")
    assert result(check_case(male), "screening").verdict is Verdict.met


def test_ndc_present() -> None:
    found = result(check_case(make_case()), "codes")
    assert found.verdict is Verdict.met and "NDC present" in found.summary
    missing = result(check_case(make_case(requested__codes={"hcpcs": ["J3490"],
                                                            "cpt": ["96365"]})), "codes")
    assert missing.verdict is Verdict.unknown
    assert missing.summary == "NDC not recorded (requested.codes.ndc)"
    no_code = result(check_case(make_case(requested__codes={"cpt": ["96365"]})), "codes")
    assert (no_code.verdict, no_code.summary) == (Verdict.not_met, "missing HCPCS J3490")


def test_j3000_is_refused() -> None:
    from priorauth.errors import CaseInvalid

    with pytest.raises(CaseInvalid) as info:
        make_case(requested__codes={"hcpcs": ["J3000"]})
    [problem] = info.value.problems
    assert problem.path == "requested.codes.hcpcs[0]"
    assert "J3000 is streptomycin, not ketamine" in problem.message


# --- severity -------------------------------------------------------------------------------

TWO_TRIPTANS = [therapy("sumatriptan", role="acute", start="2019-01-01", end="2019-06-01"),
                therapy("rizatriptan", role="acute", start="2019-06-02", end="2019-12-01")]


def test_resistant_not_refractory() -> None:
    report = check_case(make_case(THREE_CLASSES + TWO_TRIPTANS))
    assert report.severity == "resistant"
    assert report.severity_statement and "resistant migraine" in report.severity_statement


def test_no_severity_without_debilitating_days() -> None:
    report = check_case(make_case(THREE_CLASSES, burden__debilitating_days_per_month=None))
    assert report.severity is None


def test_refractory_needs_six_months() -> None:
    report = check_case(make_case(burden__months_at_this_frequency=4))
    assert report.severity == "resistant"


# --- policy language ------------------------------------------------------------------------

POLICY = """
id: test
title: Test policy
criteria:
  - {id: a, label: A, burden: {headache_days_per_month: ">= 15"}}
"""


def test_policy_errors() -> None:
    assert parse_policy(POLICY, "t.yaml").criteria[0].kind == "burden"
    bad = [
        (POLICY.replace("burden: {headache_days_per_month: \">= 15\"}", "nonsense: 1"),
         "needs exactly one of"),
        (POLICY.replace("headache_days_per_month", "headache_days"), "not a burden field"),
        (POLICY.replace('">= 15"', '"about 15"'), "must look like"),
        (POLICY.replace('burden: {headache_days_per_month: ">= 15"}',
                        "failed_trial: {class: unicorns}"), "not a class in the therapy"),
        (POLICY.replace('burden: {headache_days_per_month: ">= 15"}',
                        "failed_classes: {role: preventive, count_by: ehf}"),
         "exactly one of 'at_least' or 'all_of'"),
        (POLICY + "evidence: [nobody-1999]\n", "not in the evidence library"),
        (POLICY.replace("label: A, ", ""), "needs a 'label'"),
    ]
    for text, message in bad:
        with pytest.raises(PolicyError, match=message):
            parse_policy(text, "t.yaml")


def test_any_of() -> None:
    text = POLICY.replace(
        'burden: {headache_days_per_month: ">= 15"}',
        "any_of: [{failed_trial: {class: cgrp_mab, min_weeks: 12}}, "
        "{failed_trial: {class: onabotulinumtoxina, min_cycles: 2}}]")
    policy = parse_policy(text, "t.yaml")
    assert check_case(make_case(), policy).all_met
    assert not check_case(make_case([therapy("propranolol")]), policy).all_met


def test_bundled_policies_and_unknown_id() -> None:
    assert set(bundled_policies()) == {"ketamine-chronic-migraine", "ketamine-crps"}
    with pytest.raises(PolicyError, match="no policy 'nope'"):
        get_policy("nope")


# --- the letter and the CLI -----------------------------------------------------------------

def test_letter_lists_only_met_criteria_and_the_supported_word() -> None:
    context = build_context(load_case(SAMPLES / "fails-criteria.yaml"))
    assert context.severity is None
    assert {c.id for c in context.criteria} == {"diagnosis", "frequency"}
    context = build_context(make_case(THREE_CLASSES + TWO_TRIPTANS))
    assert context.severity == "resistant"
    assert "preventive-classes" in {c.id for c in context.criteria}
    assert "onabotulinumtoxina" not in {c.id for c in context.criteria}


def test_letter_evidence_from_case_or_policy() -> None:
    assert [e.id for e in build_context(make_case()).evidence] == list(
        get_policy("ketamine-chronic-migraine").evidence)
    chosen = build_context(make_case(evidence=["etchison-2018"])).evidence
    assert [e.id for e in chosen] == ["etchison-2018"]
    assert "negative" in chosen[0].summary.lower()


def test_official_description_in_the_letter() -> None:
    case = make_case(diagnoses=[{"code": "G43.709", "primary": True,
                                 "description": "Chronic migraine, intractable"}])
    assert build_context(case).diagnosis_descriptions["G43.709"] == (
        "Chronic migraine without aura, not intractable, without status migrainosus")
    [warning] = [w for w in record_warnings(case) if w.path.startswith("diagnoses")]
    assert "disagrees with the official description" in warning.message


@pytest.mark.parametrize(("sample", "code"), [("chronic-migraine-with-aura", 0),
                                              ("crps", 0), ("fails-criteria", 1)])
def test_check_command_exit_codes(sample: str, code: int) -> None:
    out = CliRunner().invoke(main, ["check", str(SAMPLES / f"{sample}.yaml")])
    assert out.exit_code == code, out.output
    assert "[met]" in out.output


def test_check_command_output_and_invalid_input(tmp_path: Path) -> None:
    out = CliRunner().invoke(main, ["check", str(SAMPLES / "fails-criteria.yaml")])
    assert "[not met] At least 3 preventive classes" in out.output
    assert "does not count: stopped for cost" in out.output
    assert "Result: 2 of 10 criteria met, 5 not met, 3 unknown" in out.output
    bad = CliRunner().invoke(main, ["check", str(SAMPLES / "invalid-case.yaml")])
    assert bad.exit_code == 2
    wrong = CliRunner().invoke(main, ["check", str(SAMPLES / "crps.yaml"), "--policy", "nope"])
    assert wrong.exit_code == 2 and "no policy 'nope'" in wrong.output


def test_render_strict_and_warnings(tmp_path: Path) -> None:
    target = tmp_path / "letter.html"
    out = CliRunner().invoke(main, ["render", str(SAMPLES / "fails-criteria.yaml"), "--html",
                                    "-o", str(target), "--strict"])
    assert out.exit_code == 1 and not target.exists()
    assert "not met" in out.output
    out = CliRunner().invoke(main, ["render", str(SAMPLES / "fails-criteria.yaml"), "--html",
                                    "-o", str(target)])
    assert out.exit_code == 0, out.output
    html = target.read_text(encoding="utf-8")
    assert "definition of refractory migraine:" not in html
    assert "definition of resistant migraine:" not in html
    assert "At least 3 preventive classes" not in html
    assert "[not met] At least 3 preventive classes" in out.output
    out = CliRunner().invoke(main, ["render", str(SAMPLES / "chronic-migraine-with-aura.yaml"),
                                    "--html", "-o", str(target), "--strict"])
    assert out.exit_code == 0, out.output
    html = target.read_text(encoding="utf-8")
    assert "definition of refractory migraine" in html
    assert "Low-dose ketamine (0.2 mg/kg IV)" in html


def test_evidence_list_command() -> None:
    out = CliRunner().invoke(main, ["evidence", "list", "--indication", "crps"])
    assert out.exit_code == 0
    assert "patil-2012" in out.output and "pomeroy-2017" not in out.output
