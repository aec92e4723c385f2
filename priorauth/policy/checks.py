"""Check a case against a payer policy: each criterion met / not met / unknown, with the record
facts it rests on (which therapies counted, which did not and why).

``check_case(case)`` picks the bundled policy for the primary diagnosis; ``check_case(case,
"ketamine-crps")`` or a :class:`~priorauth.policy.spec.Policy` chooses one.
Nothing here prints: :mod:`priorauth.policy.report` turns a :class:`CheckReport` into the
checklist's lines, the letter prints only the met criteria. Which policy applies:
:mod:`priorauth.policy.choice`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from priorauth.case.model import Case, Outcome, PriorTherapy, Sex
from priorauth.dates import us_date, weeks_between
from priorauth.errors import PolicyError, Problem
from priorauth.policy.choice import choose_policy, policy_warnings, resolve_policy
from priorauth.policy.results import VERDICT_RANK, CriterionResult, Fact, Verdict
from priorauth.policy.spec import Criterion, Policy, TrialRule
from priorauth.policy.warnings import record_warnings
from priorauth.reference import catalogue, icd, label
from priorauth.reference.catalogue import ClassResolution


@dataclass(frozen=True)
class CheckReport:
    """The checklist for one case (:func:`priorauth.check_case`): a result per criterion of the
    policy, the severity wording it supports and record warnings."""

    policy: Policy
    results: tuple[CriterionResult, ...]
    severity: str | None
    severity_statement: str | None
    severity_facts: tuple[str, ...] = ()
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def all_met(self) -> bool:
        return all(r.met for r in self.results)

    @property
    def met(self) -> list[CriterionResult]:
        return [r for r in self.results if r.met]

    @property
    def unmet(self) -> list[CriterionResult]:
        """Criteria not met or unknown."""
        return [r for r in self.results if not r.met]


# --- trials ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trial:
    """A prior therapy with its class resolved and its duration computed."""

    index: int
    therapy: PriorTherapy
    resolution: ClassResolution
    weeks: float | None
    ongoing: bool
    weeks_at_target: float | None = None
    """Weeks from ``target_dose_reached`` (titration excluded), when the record gives it."""
    role_mismatch: str | None = None
    """Why the recorded role is one the drug's catalogue entry lacks, if it is."""

    @property
    def quarterly(self) -> bool | None:
        """Dosed quarterly (True), monthly (False) or not known (None) - CGRP mAbs only."""
        dosing = self.resolution.entry.dosing if self.resolution.entry else frozenset()
        if len(dosing) == 1:
            return "quarterly" in dosing
        if not dosing:
            return False
        text = f"{self.therapy.frequency or ''} {self.therapy.dose or ''}".casefold()
        if _QUARTERLY.search(text):
            return True
        if _MONTHLY.search(text):
            return False
        return None

    @property
    def drug(self) -> str:
        entry = self.resolution.entry
        return entry.name if entry else " ".join(self.therapy.name.casefold().split())

    def describe(self) -> str:
        therapy = self.therapy
        parts = [catalogue.display_name(therapy.name)]
        if therapy.start:
            end = us_date(therapy.end) if therapy.end else "ongoing"
            parts.append(f"{us_date(therapy.start)}–{end}")
        if self.weeks is not None:
            parts.append(f"{self.weeks:.0f} wk" + (" to date" if self.ongoing else ""))
        if therapy.cycles:
            parts.append(f"{therapy.cycles} cycle{'s' if therapy.cycles != 1 else ''}")
        parts.append(label("outcome", therapy.outcome).lower())
        return ", ".join(parts)


# Fremanezumab (Ajovy label): 225 mg monthly or 675 mg every 3 months.
_QUARTERLY = re.compile(r"quarter|every\s*(3|three)\s*months?|every\s*12\s*w|q\s*3\s*mo"
                        r"|q\s*12\s*w|\b675\b")
_MONTHLY = re.compile(r"month|every\s*(4|four)\s*w|q\s*4\s*w|q\s*mo|\b225\b")


def trials(case: Case) -> list[Trial]:
    found = []
    for index, therapy in enumerate(case.prior_therapies):
        end = therapy.end or (case.letter.date if therapy.start else None)
        found.append(Trial(index, therapy, catalogue.resolve(therapy),
                           weeks_between(therapy.start, end),
                           ongoing=therapy.start is not None and therapy.end is None,
                           weeks_at_target=weeks_between(therapy.target_dose_reached, end),
                           role_mismatch=catalogue.role_mismatch(therapy)))
    return found


def assess_trial(trial: Trial, rule: TrialRule) -> tuple[Verdict, str]:
    """Does this trial count as a failed adequate trial under ``rule``? With the reason."""
    therapy = trial.therapy
    if not therapy.is_failure:
        return Verdict.not_met, (f"does not count: {label('outcome', therapy.outcome).lower()} "
                                 "(not a treatment failure)")
    if therapy.outcome in rule.early_stop_counts:
        if therapy.outcome is Outcome.contraindication:
            return Verdict.met, "counts: contraindicated"
        return Verdict.met, "counts: stopped for adverse effects (an early stop for intolerance " \
                            "counts at any duration)"
    if rule.min_cycles is not None:
        if therapy.cycles is None:
            return Verdict.unknown, (f"unknown: number of cycles not recorded (at least "
                                     f"{rule.min_cycles} needed)")
        if therapy.cycles < rule.min_cycles:
            return Verdict.not_met, (f"does not count: {therapy.cycles} cycle(s), at least "
                                     f"{rule.min_cycles} needed")
    if rule.min_weeks is not None:
        return _assess_duration(trial, rule, rule.min_weeks)
    return Verdict.met, "counts"


def _assess_duration(trial: Trial, rule: TrialRule, min_weeks: float) -> tuple[Verdict, str]:
    """The duration test, saying which rule was applied: weeks at target dose when the record
    gives ``target_dose_reached`` (AHS: >= 8 weeks at target dose; D'Antona 2019: 2 months at
    optimum dose, titration excluded), else weeks from the start, titration included."""
    dosing = ""
    quarterly_weeks = rule.quarterly_min_weeks
    if quarterly_weeks is not None:
        quarterly = trial.quarterly
        if quarterly:
            min_weeks, dosing = quarterly_weeks, ", dosed quarterly"
        elif quarterly is None:
            dosing = (f"; dosing interval not recorded (monthly dosing is judged after "
                      f"{min_weeks:g} wk, quarterly after {quarterly_weeks:g} wk: "
                      "record 'frequency')")
            min_weeks = quarterly_weeks
    weeks: float | None
    if trial.weeks_at_target is not None:
        weeks, basis = trial.weeks_at_target, "at target dose (from target_dose_reached)"
    else:
        weeks = trial.weeks
        basis = "from start, titration included (target_dose_reached not recorded)"
    rule_text = f"rule: at least {min_weeks:g} wk{dosing}"
    if weeks is None:
        return Verdict.unknown, f"unknown: trial dates not recorded ({rule_text})"
    shown = f"{weeks:.0f} wk {basis}"
    if weeks < min_weeks:
        if dosing.startswith(";") and rule.min_weeks is not None and weeks >= rule.min_weeks:
            return Verdict.unknown, f"unknown: {shown}; {rule_text}"
        return Verdict.not_met, f"does not count: {shown}; {rule_text}"
    return Verdict.met, f"counts: {shown}; {rule_text}"


# --- criteria --------------------------------------------------------------------------------

def _months_between(start: dt.date, end: dt.date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - (1 if end.day < start.day else 0)


def _diagnosis(case: Case, criterion: Criterion) -> CriterionResult:
    prefixes: tuple[str, ...] = criterion.spec["prefixes"]
    shown = ", ".join(f"{p}-" for p in prefixes)
    matching = [d for d in case.diagnoses if d.code.startswith(prefixes)]
    if not matching:
        codes = ", ".join(d.code for d in case.diagnoses)
        return _result(criterion, Verdict.not_met, f"no diagnosis in {shown} (record: {codes})",
                       [Fact(f"{d.code}: {icd.official_description(d.code) or ''}", False)
                        for d in case.diagnoses],
                       [f"diagnoses[{i}].code" for i in range(len(case.diagnoses))])
    where = f"diagnoses[{case.diagnoses.index(matching[0])}]"
    diagnosis = matching[0]
    text = f"{diagnosis.code} ({icd.official_description(diagnosis.code) or 'unknown code'})"
    months = criterion.spec.get("min_months_since_onset")
    if months:
        if diagnosis.onset is None:
            return _result(criterion, Verdict.unknown,
                           f"{text}; onset date not recorded (at least {months} months needed)",
                           [Fact(text, None)], [f"{where}.onset"])
        elapsed = _months_between(diagnosis.onset, case.letter.date)
        if elapsed < months:
            return _result(criterion, Verdict.not_met,
                           f"{text}, onset {us_date(diagnosis.onset)}: {elapsed} months, "
                           f"at least {months} needed", [Fact(text, False)], [f"{where}.onset"])
        text += f", onset {us_date(diagnosis.onset)} ({elapsed} months)"
    return _result(criterion, Verdict.met, text, [Fact(text, True)])


def _burden(case: Case, criterion: Criterion) -> CriterionResult:
    facts: list[Fact] = []
    verdicts: list[Verdict] = []
    fields: list[str] = []
    for comparison in criterion.spec["comparisons"]:
        value = getattr(case.burden, comparison.field)
        name = comparison.field.replace("_", " ")
        if value is None or not comparison.holds(value):
            fields.append(f"burden.{comparison.field}")
        if value is None:
            verdicts.append(Verdict.unknown)
            facts.append(Fact(f"{name}: not documented (needs {comparison.describe()})", None))
        elif comparison.holds(value):
            verdicts.append(Verdict.met)
            facts.append(Fact(f"{name}: {_show(value)}", True))
        else:
            verdicts.append(Verdict.not_met)
            facts.append(Fact(f"{name}: {_show(value)} (needs {comparison.describe()})", False))
    verdict = min(verdicts, key=VERDICT_RANK.__getitem__)
    return _result(criterion, verdict, "; ".join(f.text for f in facts), facts, fields)


def _show(value: float | bool) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:g}"


def _group_key(trial: Trial, count_by: str) -> str | None:
    if count_by == "ehf":
        return trial.resolution.ehf_preventive_class
    return trial.resolution.class_id


def _group_label(key: str, count_by: str) -> str:
    if count_by == "ehf":
        return catalogue.ehf_classes().get(key, key)
    found = catalogue.get_class(key)
    return found.label if found else key


def _failed_classes(case: Case, criterion: Criterion, policy: Policy,
                    all_trials: Sequence[Trial]) -> CriterionResult:
    spec = criterion.spec
    role, count_by = spec["role"], spec["count_by"]
    among: tuple[str, ...] = spec["among"]
    groups: dict[str, list[tuple[Trial, Verdict, str]]] = {}
    assessed: list[tuple[Trial, Verdict, str]] = []
    facts: list[Fact] = []
    unresolved = 0
    for trial in all_trials:
        if role is not None and trial.therapy.role is not role:
            continue
        if trial.role_mismatch is not None:
            facts.append(Fact(f"{trial.describe()}: does not count: {trial.role_mismatch}",
                              False))
            continue
        key = _group_key(trial, count_by)
        if key is None or (among and key not in among):
            if trial.resolution.class_id is None and trial.therapy.is_failure:
                unresolved += 1
                assessed.append((trial, Verdict.unknown, "class unknown"))
                facts.append(Fact(f"{trial.describe()}: class unknown, cannot be counted "
                                  "(add 'class' or use a catalogue name)", None))
            else:
                why = ("not one of the EHF 2020 preventive classes" if count_by == "ehf"
                       else "not a class this criterion counts")
                facts.append(Fact(f"{trial.describe()}: does not count: "
                                  f"{trial.resolution.class_label or 'class'} is {why}", False))
            continue
        verdict, reason = assess_trial(trial, policy.rule_for(trial.resolution.class_id))
        groups.setdefault(key, []).append((trial, verdict, reason))
        assessed.append((trial, verdict, reason))
    met_groups: dict[str, Trial] = {}
    unknown_groups: list[str] = []
    for key, items in groups.items():
        best = max(items, key=lambda item: VERDICT_RANK[item[1]])
        name = _group_label(key, count_by)
        if best[1] is Verdict.met:
            met_groups[key] = best[0]
        elif best[1] is Verdict.unknown:
            unknown_groups.append(key)
        first_counted = True
        for trial, verdict, reason in items:
            if verdict is Verdict.met and first_counted:
                facts.append(Fact(f"{name}: {trial.describe()}: {reason}", True))
                first_counted = False
            elif verdict is Verdict.met:
                facts.append(Fact(f"{name}: {trial.describe()}: same class, counted once", None))
            else:
                facts.append(Fact(f"{name}: {trial.describe()}: {reason}",
                                  None if verdict is Verdict.unknown else False))
    counted = ", ".join(f"{_group_label(k, count_by)} ({t.therapy.name})"
                        for k, t in met_groups.items())
    if spec["at_least"] is not None:
        need: int = spec["at_least"]
        have = len(met_groups)
        noun = "class" if have == 1 else "classes"
        if have >= need:
            return _result(criterion, Verdict.met, f"{have} {noun}: {counted}", facts)
        possible = have + len(unknown_groups) + unresolved
        verdict = Verdict.unknown if possible >= need else Verdict.not_met
        summary = f"{have} of {need} {'classes' if need != 1 else 'class'} counted"
        summary += f": {counted}" if counted else ""
        if unknown_groups or unresolved:
            summary += f"; {len(unknown_groups) + unresolved} more undetermined"
        return _result(criterion, verdict, summary, facts, _trial_fields(assessed))
    wanted: tuple[str, ...] = spec["all_of"]
    missing = [k for k in wanted if k not in met_groups]
    if not missing:
        return _result(criterion, Verdict.met, f"all {len(wanted)} classes: {counted}", facts)
    pending = [k for k in missing if k in unknown_groups]
    names = "; ".join(_group_label(k, count_by) for k in missing)
    verdict = Verdict.unknown if len(pending) == len(missing) or unresolved else Verdict.not_met
    return _result(criterion, verdict, f"no counted trial of: {names}", facts,
                   _trial_fields(assessed))


def _failed_trial(case: Case, criterion: Criterion, policy: Policy,
                  all_trials: Sequence[Trial]) -> CriterionResult:
    spec = criterion.spec
    classes: tuple[str, ...] = spec["classes"]
    class_names = " or ".join(_group_label(c, "class") for c in classes)
    relevant = [t for t in all_trials if t.resolution.class_id in classes]
    if not relevant:
        return _result(criterion, Verdict.not_met, f"no {class_names} trial in the record",
                       fields=["prior_therapies"])
    facts: list[Fact] = []
    counted: dict[str, Trial] = {}
    unknown: set[str] = set()
    contraindicated = False
    assessed: list[tuple[Trial, Verdict, str]] = []
    for trial in relevant:
        if spec["min_weeks"] is not None or spec["min_cycles"] is not None:
            rule = TrialRule(spec["min_weeks"], spec["min_cycles"],
                             policy.adequate_trial.early_stop_counts)
        elif spec["adequate"]:
            rule = policy.rule_for(trial.resolution.class_id)
        else:
            rule = TrialRule(None, None, policy.adequate_trial.early_stop_counts)
        verdict, reason = assess_trial(trial, rule)
        assessed.append((trial, verdict, reason))
        if verdict is Verdict.met and trial.drug in counted:
            facts.append(Fact(f"{trial.describe()}: same drug, counted once", None))
            continue
        if verdict is Verdict.met:
            counted[trial.drug] = trial
            contraindicated |= trial.therapy.outcome is Outcome.contraindication
        elif verdict is Verdict.unknown:
            unknown.add(trial.drug)
        facts.append(Fact(f"{trial.describe()}: {reason}",
                          {Verdict.met: True, Verdict.not_met: False}.get(verdict)))
    need: int = spec["distinct_drugs"]
    names = ", ".join(t.describe() for t in counted.values())
    if len(counted) >= need or (contraindicated and spec["or_contraindicated"]):
        return _result(criterion, Verdict.met, names, facts)
    unknown -= set(counted)
    verdict = Verdict.unknown if len(counted) + len(unknown) >= need else Verdict.not_met
    if need > 1:
        summary = f"{len(counted)} of {need} {class_names} drugs counted"
    else:
        summary = f"no {class_names} trial that counts"
    return _result(criterion, verdict, summary, facts, _trial_fields(assessed))


def _screening(case: Case, criterion: Criterion) -> CriterionResult:
    screening = case.screening
    facts: list[Fact] = []
    present, missing = [], []
    for name in criterion.spec["fields"]:
        title = label("screening", name)
        # Pregnancy screening does not apply to a patient recorded as male.
        if name == "pregnancy" and case.patient.sex is Sex.male:
            facts.append(Fact(f"{title}: not applicable (patient recorded as male)", None))
            continue
        value = getattr(screening, name)
        if value is None:
            missing.append(title)
            facts.append(Fact(f"{title}: not documented", None))
        elif value:
            present.append(title)
            facts.append(Fact(f"{title}: present", False))
        else:
            facts.append(Fact(f"{title}: absent", True))
    when = f" on {us_date(screening.date)}" if screening.date else ""
    if present or missing:
        fields = [f"screening.{name}" for name in criterion.spec["fields"]
                  if getattr(screening, name) is not False
                  and not (name == "pregnancy" and case.patient.sex is Sex.male)]
        if present:
            return _result(criterion, Verdict.not_met, "present: " + "; ".join(present), facts,
                           fields)
        return _result(criterion, Verdict.unknown, "not documented: " + "; ".join(missing), facts,
                       fields)
    return _result(criterion, Verdict.met, f"each item screened and absent{when}", facts)


def _request_codes(case: Case, criterion: Criterion) -> CriterionResult:
    codes = case.requested.codes
    facts: list[Fact] = []
    missing = []
    for system, wanted, have in (("HCPCS", criterion.spec["hcpcs"], codes.hcpcs),
                                 ("CPT", criterion.spec["cpt"], codes.cpt)):
        for code in wanted:
            if code in have:
                facts.append(Fact(f"{system} {code}: requested", True))
            else:
                missing.append(f"{system} {code}")
                facts.append(Fact(f"{system} {code}: not in requested.codes", False))
    if missing:
        fields = sorted({f"requested.codes.{m.split()[0].lower()}" for m in missing})
        return _result(criterion, Verdict.not_met, "missing " + ", ".join(missing), facts,
                       fields)
    if criterion.spec["ndc"]:
        if codes.ndc is None:
            facts.append(Fact("NDC present: no (payers require the drug name, dose and 11-digit "
                              "NDC with J3490; add requested.codes.ndc)", None))
            return _result(criterion, Verdict.unknown,
                           "NDC not recorded (requested.codes.ndc)", facts,
                           ["requested.codes.ndc"])
        facts.append(Fact(f"NDC present: {codes.ndc}", True))
    summary = ", ".join(f.text.split(":")[0] for f in facts if f.counted)
    return _result(criterion, Verdict.met, summary, facts)


def _any_of(case: Case, criterion: Criterion, policy: Policy,
            all_trials: Sequence[Trial]) -> CriterionResult:
    results = [evaluate(case, child, policy, all_trials) for child in criterion.children]
    best = max(results, key=lambda r: VERDICT_RANK[r.verdict])
    facts = [Fact(f"option '{r.label}': {r.verdict.value}: {r.summary}",
                  True if r.met else None) for r in results]
    fields = [] if best.met else [f for r in results for f in r.fields]
    return _result(criterion, best.verdict, best.summary, facts, fields)


def _result(criterion: Criterion, verdict: Verdict, summary: str,
            facts: Iterable[Fact] = (), fields: Iterable[str] = ()) -> CriterionResult:
    if verdict is Verdict.met:
        fields = ()
    return CriterionResult(criterion.id, criterion.label, verdict, summary, tuple(facts),
                           tuple(dict.fromkeys(fields)))


def _trial_fields(trials: Iterable[tuple[Trial, Verdict, str]]) -> list[str]:
    """The fields that would settle undetermined trials, else where to add or correct trials."""
    fields: list[str] = []
    for trial, verdict, reason in trials:
        if verdict is not Verdict.unknown:
            continue
        where = f"prior_therapies[{trial.index}]"
        if "cycles not recorded" in reason:
            fields.append(f"{where}.cycles")
        if "dates not recorded" in reason:
            fields += [f"{where}.start", f"{where}.end"]
        if "dosing interval not recorded" in reason:
            fields.append(f"{where}.frequency")
        if "class unknown" in reason:
            fields.append(f"{where}.class")
    return fields or ["prior_therapies"]


def evaluate(case: Case, criterion: Criterion, policy: Policy,
             all_trials: Sequence[Trial] | None = None) -> CriterionResult:
    """Verdict on one criterion."""
    all_trials = trials(case) if all_trials is None else all_trials
    kind = criterion.kind
    if kind == "diagnosis_in":
        return _diagnosis(case, criterion)
    if kind == "burden":
        return _burden(case, criterion)
    if kind == "failed_classes":
        return _failed_classes(case, criterion, policy, all_trials)
    if kind == "failed_trial":
        return _failed_trial(case, criterion, policy, all_trials)
    if kind == "screening_clear":
        return _screening(case, criterion)
    if kind == "request_codes":
        return _request_codes(case, criterion)
    if kind == "any_of":
        return _any_of(case, criterion, policy, all_trials)
    if kind in ("budapest", "regimen_in", "documented"):
        from priorauth.policy import consensus  # imports this module: import when used

        return consensus.evaluate(case, criterion)
    raise PolicyError(f"policy '{policy.id}': unknown criterion kind '{kind}'")  # pragma: no cover


__all__ = ["CheckReport", "CriterionResult", "Fact", "Trial", "Verdict", "assess_trial",
           "check_case", "choose_policy", "evaluate", "policy_warnings", "record_warnings",
           "resolve_policy", "trials"]


# --- the whole check -------------------------------------------------------------------------

def check_case(case: Case, policy: Policy | str | None = None) -> CheckReport:
    """Evaluate every criterion of ``policy`` (default: chosen by diagnosis) and the severity."""
    chosen = resolve_policy(case, policy)
    all_trials = trials(case)
    results = tuple(evaluate(case, c, chosen, all_trials) for c in chosen.criteria)
    if case.continuation is not None:  # a continuation request: the measured response too
        from priorauth.policy.continuation import continuation_results

        results += tuple(continuation_results(case))
    severity = statement = None
    severity_facts: list[str] = []
    for level in chosen.severity:
        level_results = [evaluate(case, c, chosen, all_trials) for c in level.requires]
        if all(r.met for r in level_results):
            severity, statement = level.word, level.statement
            met = "; ".join(r.summary for r in level_results)
            severity_facts.append(f"{level.word}: met ({met})")
            break
        severity_facts.append(f"{level.word}: not supported ("
                              + "; ".join(f"{r.verdict.value}: {r.summary}"
                                          for r in level_results if not r.met) + ")")
    return CheckReport(chosen, results, severity, statement, tuple(severity_facts),
                       tuple(record_warnings(case) + policy_warnings(case, chosen)))
