"""Issue 11.2: the data a letter rests on says only what its sources say (gepant roles, the
adequate-trial rule and its basis, CGRP mAb dosing, ICHD-3 migraine days, MOH attribution)."""

from __future__ import annotations

from priorauth.policy.checks import Verdict, check_case, record_warnings
from priorauth.policy.spec import get_policy
from tests.policy.test_checks import THREE_CLASSES, facts, make_case, result, therapy

POLICY = "ketamine-chronic-migraine"


# --- gepants: an acute-only gepant is not a preventive ---------------------------------------

def test_acute_only_gepant_recorded_as_preventive_is_a_warning_and_does_not_count() -> None:
    trials = [*THREE_CLASSES[:2], therapy("ubrogepant", start="2021-01-01", end="2021-06-01")]
    case = make_case(trials)
    report = check_case(case)
    assert result(report, "preventive-classes").verdict is Verdict.not_met
    assert "ubrogepant for acute use only" in facts(report, "preventive-classes")
    warnings = record_warnings(case)
    assert [w.path for w in warnings] == ["prior_therapies[2].role"]
    assert "does not count toward a class in that role" in warnings[0].message
    assert "does not count toward a preventive class" in str(warnings[0].value)


def test_zavegepant_has_no_ehf_class_and_atogepant_counts() -> None:
    zav = make_case([*THREE_CLASSES[:2], therapy("Zavzpret", start="2021-01-01",
                                                 end="2021-06-01")])
    assert result(check_case(zav), "preventive-classes").verdict is Verdict.not_met
    ato = make_case([*THREE_CLASSES[:2], therapy("Qulipta", start="2021-01-01",
                                                 end="2021-06-01")])
    assert result(check_case(ato), "preventive-classes").verdict is Verdict.met
    assert record_warnings(ato) == []


def test_acute_gepant_recorded_as_acute_raises_no_warning() -> None:
    case = make_case([therapy("ubrogepant", role="acute")])
    assert record_warnings(case) == []


# --- adequate trial: counted from the target-dose date when recorded ---------------------------

def test_target_dose_date_excludes_titration() -> None:
    # 10 weeks from start, but only 5 at target dose: not an adequate trial under AHS.
    trials = [*THREE_CLASSES[:2],
              therapy("amitriptyline", start="2021-01-01", end="2021-03-12",
                      target_dose_reached="2021-02-05")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.not_met
    assert ("does not count: 5 wk at target dose (from target_dose_reached); rule: at least "
            "8 wk") in facts(report, "preventive-classes")


def test_without_target_dose_date_the_checklist_says_titration_is_included() -> None:
    trials = [*THREE_CLASSES[:2], therapy("amitriptyline", start="2021-01-01",
                                          end="2021-03-12")]
    report = check_case(make_case(trials))
    assert result(report, "preventive-classes").verdict is Verdict.met
    assert "10 wk from start, titration included" in facts(report, "preventive-classes")


def test_target_dose_date_outside_the_trial_is_an_error() -> None:
    import pytest

    from priorauth.errors import CaseInvalid
    with pytest.raises(CaseInvalid) as caught:
        make_case([therapy("amitriptyline", target_dose_reached="2019-12-01")])
    assert any(p.path == "prior_therapies[0].target_dose_reached"
               for p in caught.value.problems)


def test_policy_no_longer_calls_eight_weeks_common_payer_wording() -> None:
    policy = get_policy(POLICY)
    assert "common payer" not in policy.title
    label = next(c.label for c in policy.criteria if c.id == "preventive-classes")
    assert "at least 8 weeks at target dose" in label


# --- CGRP mAbs: quarterly dosing judged after 6 months -----------------------------------------

def test_eptinezumab_is_judged_after_six_months() -> None:
    four_months = make_case([therapy("Vyepti", start="2020-01-01", end="2020-05-01")])
    report = check_case(four_months)
    assert result(report, "cgrp-mab").verdict is Verdict.not_met
    assert "dosed quarterly" in facts(report, "cgrp-mab")
    seven = make_case([therapy("eptinezumab", start="2020-01-01", end="2020-08-01")])
    assert result(check_case(seven), "cgrp-mab").verdict is Verdict.met


def test_fremanezumab_depends_on_its_recorded_frequency() -> None:
    def verdict(**extra: str) -> Verdict:
        case = make_case([therapy("Ajovy", start="2020-01-01", end="2020-05-01", **extra)])
        return result(check_case(case), "cgrp-mab").verdict  # type: ignore[no-any-return]

    assert verdict(frequency="monthly") is Verdict.met
    assert verdict(frequency="every 3 months") is Verdict.not_met
    assert verdict(dose="675 mg") is Verdict.not_met
    assert verdict() is Verdict.unknown


def test_monthly_mab_still_judged_after_three_months() -> None:
    case = make_case([therapy("Emgality", start="2020-01-01", end="2020-04-15")])
    assert result(check_case(case), "cgrp-mab").verdict is Verdict.met


# --- ICHD-3 chronic migraine also needs 8 migraine days -----------------------------------------

def test_chronic_migraine_needs_eight_migraine_days() -> None:
    few = make_case(burden__migraine_days_per_month=5)
    frequency = result(check_case(few), "frequency")
    assert frequency.verdict is Verdict.not_met
    assert "migraine days per month: 5" in frequency.summary
    unknown = make_case(burden__migraine_days_per_month=None)
    assert result(check_case(unknown), "frequency").verdict is Verdict.unknown


# --- medication overuse: D'Antona 2019 and payers, not ICHD-3 ---------------------------------

def test_moh_exclusion_is_attributed_to_dantona_and_payers() -> None:
    label = next(c.label for c in get_policy(POLICY).criteria if c.id == "medication-overuse")
    assert "D'Antona 2019" in label and "ICHD" not in label
