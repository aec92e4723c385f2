"""Payer policies as data: parse ``reference/policies/*.yaml`` into checked criteria.

A policy is a list of criteria, each a label plus exactly one *kind* (see ``docs/policies.md``):

- ``diagnosis_in: [G43.7, G43.E]`` (code prefixes), optional ``min_months_since_onset: 6``
- ``burden: {headache_days_per_month: ">= 15", months_at_this_frequency: ">= 3"}``
- ``failed_classes: {role: preventive, at_least: 3 | all_of: [...], count_by: ehf | class}``
- ``failed_trial: {class: X | classes: [...], min_weeks, min_cycles, adequate, distinct_drugs,
  or_contraindicated}``
- ``screening_clear: all | [field, ...]``
- ``request_codes: {hcpcs: [J3490], cpt: ["96365"], ndc: required}``
- ``any_of: [criterion, ...]`` (met when one is met)
- ``budapest: clinical``, ``regimen_in: crps``, ``documented: [field, ...]`` (policy/consensus.py)

plus the policy-wide ``adequate_trial`` rule and optional ``severity`` levels. Every mistake in a
policy file is a :class:`PolicyError` naming the policy and the criterion, raised when it is loaded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml

from priorauth._yaml import strict_load
from priorauth.case.model import Burden, Outcome, Role, Screening
from priorauth.errors import PolicyError, ReferenceDataError
from priorauth.reference import catalogue
from priorauth.reference import evidence as evidence_library

POLICY_PACKAGE = "priorauth.reference"
POLICY_FOLDER = "policies"

KINDS = ("diagnosis_in", "burden", "failed_classes", "failed_trial", "screening_clear",
         "request_codes", "any_of", "budapest", "regimen_in", "documented")
_CONSENSUS_KINDS = ("budapest", "regimen_in", "documented")  # parsed in policy/consensus.py

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}
_COMPARISON = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
SCREENING_FIELDS = tuple(name for name in Screening.model_fields if name not in ("date", "notes"))
BURDEN_FIELDS = tuple(name for name in Burden.model_fields if name != "source")


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str
    value: float | bool

    def holds(self, actual: float | bool) -> bool:
        return OPERATORS[self.op](actual, self.value)

    def describe(self) -> str:
        value = str(self.value).lower() if isinstance(self.value, bool) else f"{self.value:g}"
        return f"{self.field.replace('_', ' ')} {self.op} {value}"


@dataclass(frozen=True)
class TrialRule:
    """What makes one trial adequate: a minimum duration and/or number of cycles, or an early stop
    for one of ``early_stop_counts`` (e.g. intolerance)."""

    min_weeks: float | None = None
    min_cycles: int | None = None
    early_stop_counts: frozenset[Outcome] = frozenset()
    quarterly_min_weeks: float | None = None
    """For drugs dosed quarterly (eptinezumab, quarterly fremanezumab): judged after this long."""


@dataclass(frozen=True)
class Criterion:
    id: str
    label: str
    kind: str
    spec: Mapping[str, Any]
    children: tuple[Criterion, ...] = ()


@dataclass(frozen=True)
class SeverityLevel:
    word: str
    statement: str
    requires: tuple[Criterion, ...]


@dataclass(frozen=True)
class PayerPolicyRef:
    """The payer's own medical policy a policy file encodes (``payer_policy:`` in the file):
    the checklist can then say whose criteria it applied and how old that reading is."""

    id: str
    title: str
    url: str
    reviewed: dt.date
    """When the file was last checked against the payer's published policy."""


@dataclass(frozen=True)
class Policy:
    id: str
    title: str
    applies_to: tuple[str, ...]
    criteria: tuple[Criterion, ...]
    adequate_trial: TrialRule
    class_rules: Mapping[str, TrialRule]
    severity: tuple[SeverityLevel, ...] = ()
    evidence: tuple[str, ...] = ()
    source: str = ""
    notes: tuple[str, ...] = field(default=())
    consensus: tuple[str, ...] = ()
    """Criterion ids the letter prints point by point against ``consensus_evidence``."""
    consensus_evidence: str | None = None
    payer_policy: PayerPolicyRef | None = None
    bundled: bool = False
    """Shipped with priorauth (a generic policy, not a payer's own)."""

    def rule_for(self, class_id: str | None) -> TrialRule:
        """The adequate-trial rule for a class (class-specific rule, else the policy default)."""
        if class_id is not None and class_id in self.class_rules:
            return self.class_rules[class_id]
        return self.adequate_trial

    def applies(self, code: str) -> bool:
        return any(code.startswith(prefix) for prefix in self.applies_to)


class _Parser:
    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        self.where = ""
        """The part being read, so an unforeseen shape is still reported at its place."""

    def fail(self, where: str, message: str) -> PolicyError:
        return PolicyError(f"policy '{self.policy_id}': {where}: {message}")

    def outcomes(self, values: Any, where: str) -> frozenset[Outcome]:
        if values is not None and not isinstance(values, list):
            raise self.fail(where, "early_stop_counts must be a list of outcomes")
        try:
            return frozenset(Outcome(str(v)) for v in values or [])
        except ValueError:
            allowed = ", ".join(o.value for o in Outcome)
            raise self.fail(where, f"outcomes must be among: {allowed}") from None

    def trial_rule(self, spec: Any, where: str, base: TrialRule | None = None) -> TrialRule:
        self.where = where
        if not isinstance(spec, Mapping):
            raise self.fail(where, "must be a mapping (min_weeks, min_cycles, early_stop_counts)")
        unknown = set(spec) - {"min_weeks", "min_cycles", "early_stop_counts",
                               "quarterly_min_weeks"}
        if unknown:
            raise self.fail(where, f"unknown key(s): {', '.join(sorted(unknown))}")
        base = base or TrialRule()
        early = (self.outcomes(spec["early_stop_counts"], where)
                 if "early_stop_counts" in spec else base.early_stop_counts)
        min_weeks = spec.get("min_weeks")
        min_cycles = spec.get("min_cycles")
        quarterly = spec.get("quarterly_min_weeks")
        for name, value in (("min_weeks", min_weeks), ("min_cycles", min_cycles),
                            ("quarterly_min_weeks", quarterly)):
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise self.fail(where, f"{name} must be a number >= 0")
        if min_weeks is None and min_cycles is None:
            min_weeks, min_cycles = base.min_weeks, base.min_cycles
        return TrialRule(None if min_weeks is None else float(min_weeks),
                         None if min_cycles is None else int(min_cycles), early,
                         None if quarterly is None else float(quarterly))

    def comparison(self, name: str, text: Any, where: str) -> Comparison:
        if name not in BURDEN_FIELDS:
            raise self.fail(where, f"'{name}' is not a burden field (allowed: "
                            f"{', '.join(BURDEN_FIELDS)})")
        match = _COMPARISON.match(str(text))
        if not match:
            raise self.fail(where, f"'{name}: {text}' must look like \">= 15\" or \"== true\"")
        op, raw = match.groups()
        value: float | bool
        if raw.lower() in ("true", "false"):
            value = raw.lower() == "true"
        else:
            try:
                value = float(raw)
            except ValueError:
                raise self.fail(where, f"'{raw}' is not a number or true/false") from None
        return Comparison(name, op, value)

    def class_ids(self, spec: Mapping[str, Any], where: str) -> tuple[str, ...]:
        ids = ([spec["class"]] if "class" in spec else []) + list(spec.get("classes") or [])
        if not ids:
            raise self.fail(where, "failed_trial needs 'class' or 'classes'")
        for class_id in ids:
            if catalogue.get_class(str(class_id)) is None:
                raise self.fail(where, f"'{class_id}' is not a class in the therapy catalogue")
        return tuple(str(c) for c in ids)

    def criterion(self, raw: Any, where: str, need_label: bool = True) -> Criterion:
        self.where = where
        if not isinstance(raw, Mapping):
            raise self.fail(where, "each criterion must be a mapping")
        kinds = [k for k in KINDS if k in raw]
        if len(kinds) != 1:
            raise self.fail(where, f"needs exactly one of: {', '.join(KINDS)} "
                            f"(found {', '.join(kinds) or 'none'})")
        kind = kinds[0]
        allowed = {"id", "label", kind} | ({"min_months_since_onset"} if kind == "diagnosis_in"
                                           else set())
        unknown = set(raw) - allowed
        if unknown:
            raise self.fail(where, f"unknown key(s): {', '.join(sorted(map(str, unknown)))}")
        criterion_id = str(raw.get("id") or where)
        label = raw.get("label")
        if need_label and not label:
            raise self.fail(where, "needs a 'label' (the checklist and letter print it)")
        where = self.where = f"criterion '{criterion_id[:80]}'"
        body = raw[kind]
        spec: dict[str, Any] = {}
        children: tuple[Criterion, ...] = ()
        if kind == "diagnosis_in":
            if not isinstance(body, list) or not body:
                raise self.fail(where, "diagnosis_in must be a list of code prefixes")
            spec["prefixes"] = tuple(str(p).upper() for p in body)
            months = raw.get("min_months_since_onset")
            if months is not None and not isinstance(months, int):
                raise self.fail(where, "min_months_since_onset must be a whole number")
            spec["min_months_since_onset"] = months
        elif kind == "burden":
            if not isinstance(body, Mapping) or not body:
                raise self.fail(where, "burden must map burden fields to comparisons")
            spec["comparisons"] = tuple(self.comparison(str(k), v, where)
                                        for k, v in body.items())
        elif kind == "failed_classes":
            spec.update(self.failed_classes(body, where))
        elif kind == "failed_trial":
            if not isinstance(body, Mapping):
                raise self.fail(where, "failed_trial must be a mapping")
            unknown = set(body) - {"class", "classes", "min_weeks", "min_cycles", "adequate",
                                   "distinct_drugs", "or_contraindicated"}
            if unknown:
                raise self.fail(where, f"unknown key(s): {', '.join(sorted(unknown))}")
            spec["classes"] = self.class_ids(body, where)
            spec["min_weeks"] = body.get("min_weeks")
            spec["min_cycles"] = body.get("min_cycles")
            spec["adequate"] = bool(body.get("adequate", False))
            distinct = body.get("distinct_drugs", 1)
            if not isinstance(distinct, int) or isinstance(distinct, bool) or distinct < 1:
                raise self.fail(where, "distinct_drugs must be a whole number >= 1")
            spec["distinct_drugs"] = distinct
            spec["or_contraindicated"] = bool(body.get("or_contraindicated", False))
        elif kind == "screening_clear":
            fields = SCREENING_FIELDS if body == "all" else body
            if not isinstance(fields, list | tuple) or not fields:
                raise self.fail(where, "screening_clear must be 'all' or a list of fields")
            for name in fields:
                if name not in SCREENING_FIELDS:
                    raise self.fail(where, f"'{name}' is not a screening field")
            spec["fields"] = tuple(fields)
        elif kind == "request_codes":
            if not isinstance(body, Mapping):
                raise self.fail(where, "request_codes must be a mapping")
            spec["hcpcs"] = tuple(str(c) for c in body.get("hcpcs") or [])
            spec["cpt"] = tuple(str(c) for c in body.get("cpt") or [])
            spec["ndc"] = body.get("ndc") == "required"
        elif kind in _CONSENSUS_KINDS:
            from priorauth.policy import consensus  # imports this module: import when used

            spec.update(consensus.parse(kind, body, lambda message: self.fail(where, message)))
        elif kind == "any_of":
            if not isinstance(body, list) or len(body) < 2:
                raise self.fail(where, "any_of needs a list of at least 2 criteria")
            children = tuple(self.criterion(item, f"{where} option {i + 1}", need_label=False)
                             for i, item in enumerate(body))
        return Criterion(criterion_id, str(label or criterion_id), kind, spec, children)

    def failed_classes(self, body: Any, where: str) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise self.fail(where, "failed_classes must be a mapping")
        unknown = set(body) - {"role", "at_least", "all_of", "count_by", "among"}
        if unknown:
            raise self.fail(where, f"unknown key(s): {', '.join(sorted(unknown))}")
        role = body.get("role")
        if role is not None and (not isinstance(role, str) or role not in {r.value for r in Role}):
            raise self.fail(where, f"role must be one of: {', '.join(r.value for r in Role)}")
        count_by = body.get("count_by", "class")
        if count_by not in ("ehf", "class"):
            raise self.fail(where, "count_by must be 'ehf' (EHF 2020 classes) or 'class'")
        known = (catalogue.ehf_classes() if count_by == "ehf"
                 else {c.id: c.label for c in catalogue.all_classes()})
        all_of = tuple(str(c) for c in body.get("all_of") or [])
        among = tuple(str(c) for c in body.get("among") or [])
        for class_id in (*all_of, *among):
            if class_id not in known:
                raise self.fail(where, f"'{class_id}' is not a known {count_by} class")
        at_least = body.get("at_least")
        if (at_least is None) == (not all_of):
            raise self.fail(where, "give exactly one of 'at_least' or 'all_of'")
        if at_least is not None and (not isinstance(at_least, int) or at_least < 1):
            raise self.fail(where, "at_least must be a whole number >= 1")
        return {"role": Role(role) if role else None, "at_least": at_least, "all_of": all_of,
                "count_by": count_by, "among": among}

    def policy(self, data: Any, source: str) -> Policy:
        if not isinstance(data, Mapping):
            raise self.fail("file", "a policy must be a mapping")
        for key in ("id", "title", "criteria"):
            if not data.get(key):
                raise self.fail("file", f"missing '{key}'")
        default = TrialRule(8.0, None, frozenset({Outcome.intolerance, Outcome.contraindication}))
        self.where = "adequate_trial"
        raw_adequate = data.get("adequate_trial") or {}
        if not isinstance(raw_adequate, Mapping):
            raise self.fail("adequate_trial", "must be a mapping (min_weeks, min_cycles, "
                                              "early_stop_counts, by_class)")
        adequate_spec = dict(raw_adequate)
        adequate_spec.pop("by_class", None)
        adequate = self.trial_rule(adequate_spec, "adequate_trial", default)
        class_rules: dict[str, TrialRule] = {}
        by_class = raw_adequate.get("by_class") or {}
        if not isinstance(by_class, Mapping):
            raise self.fail("adequate_trial.by_class", "must map class ids to trial rules")
        for class_id, rule in by_class.items():
            if catalogue.get_class(str(class_id)) is None:
                raise self.fail(f"adequate_trial.by_class.{class_id}",
                                "not a class in the therapy catalogue")
            class_rules[str(class_id)] = self.trial_rule(
                rule, f"adequate_trial.by_class.{class_id}",
                TrialRule(None, None, adequate.early_stop_counts))
        for key in ("criteria", "severity", "evidence", "applies_to"):
            if data.get(key) is not None and not isinstance(data[key], list):
                raise self.fail(key, "must be a list ('- item' lines or [a, b])")
        criteria = tuple(self.criterion(raw, f"criteria[{i}]")
                         for i, raw in enumerate(data["criteria"]))
        ids = [c.id for c in criteria]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise self.fail("criteria", f"duplicate id(s): {', '.join(duplicates)}")
        levels = []
        for i, level in enumerate(data.get("severity") or []):
            where = self.where = f"severity[{i}]"
            if not isinstance(level, Mapping) or not level.get("word") or not level.get(
                    "requires") or not level.get("statement"):
                raise self.fail(where, "each severity level needs word, statement and requires")
            requires = tuple(self.criterion(raw, f"{where}.requires[{j}]", need_label=False)
                             for j, raw in enumerate(level["requires"]))
            levels.append(SeverityLevel(str(level["word"]), " ".join(
                str(level["statement"]).split()), requires))
        payer_policy = self.payer_policy(data.get("payer_policy"))
        self.where = "evidence"
        evidence_ids = tuple(str(e) for e in data.get("evidence") or [])
        for evidence_id in evidence_ids:
            if evidence_library.get(evidence_id) is None:
                raise self.fail("evidence", f"'{evidence_id}' is not in the evidence library")
        consensus_ids, consensus_evidence = self.consensus(data.get("consensus"), ids)
        return Policy(
            consensus=consensus_ids, consensus_evidence=consensus_evidence,
            id=str(data["id"]), title=" ".join(str(data["title"]).split()),
            applies_to=tuple(str(p).upper() for p in data.get("applies_to") or []),
            criteria=criteria, adequate_trial=adequate, class_rules=class_rules,
            severity=tuple(levels), evidence=evidence_ids, source=source,
            payer_policy=payer_policy)

    def payer_policy(self, raw: Any) -> PayerPolicyRef | None:
        if raw is None:
            return None
        where = "payer_policy"
        if not isinstance(raw, Mapping):
            raise self.fail(where, "must be a mapping: id, title, url, reviewed")
        unknown = set(map(str, raw)) - {"id", "title", "url", "reviewed"}
        if unknown:
            raise self.fail(where, f"unknown key(s): {', '.join(sorted(unknown))}")
        missing = [k for k in ("id", "title", "url", "reviewed") if not raw.get(k)]
        if missing:
            raise self.fail(where, f"missing {', '.join(missing)} (name the payer's policy: its "
                            "number, title, web address and the date you last checked it)")
        url = str(raw["url"]).strip()
        if not url.startswith(("https://", "http://")):
            raise self.fail(f"{where}.url", "must be the web address of the payer's policy "
                            "(https://...)")
        reviewed = raw["reviewed"]
        if not isinstance(reviewed, dt.date):
            try:
                reviewed = dt.date.fromisoformat(str(reviewed))
            except ValueError:
                raise self.fail(f"{where}.reviewed", "must be a date written YYYY-MM-DD") from None
        return PayerPolicyRef(" ".join(str(raw["id"]).split()),
                              " ".join(str(raw["title"]).split()), url, reviewed)

    def consensus(self, body: Any, ids: list[str]) -> tuple[tuple[str, ...], str | None]:
        """``consensus: {evidence: cohen-2018, points: [criterion ids]}``: the criteria the letter
        prints point by point against that guideline, whatever their verdict."""
        if body is None:
            return (), None
        if not isinstance(body, Mapping) or set(body) != {"evidence", "points"}:
            raise self.fail("consensus", "needs 'evidence' (an evidence id) and 'points' (a list "
                            "of criterion ids)")
        if evidence_library.get(str(body["evidence"])) is None:
            raise self.fail("consensus", f"'{body['evidence']}' is not in the evidence library")
        points = body["points"]
        if not isinstance(points, list) or not points or any(p not in ids for p in points):
            raise self.fail("consensus", "points must list ids of this policy's criteria")
        return tuple(str(p) for p in points), str(body["evidence"])


def parse_policy(text: str, source: str) -> Policy:
    """Parse one policy document (YAML text); raise :class:`PolicyError` when malformed."""
    try:
        data = strict_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: not valid YAML: {exc}") from None
    policy_id = str(data.get("id"))[:80] if isinstance(data, Mapping) else source
    parser = _Parser(policy_id)
    try:
        return parser.policy(data, source)
    except PolicyError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError,
            RecursionError) as exc:
        # The checks above name the field for every mistake we know of; a shape they did not
        # foresee (found by fuzzing) is still the file's fault, never a traceback.
        where = parser.where or "file"
        raise parser.fail(where, f"has a value of the wrong kind ({type(exc).__name__}); see "
                                 "docs/policies.md for the shape of each key") from None


@functools.cache
def bundled_policies() -> dict[str, Policy]:
    """The policies shipped in ``reference/policies``, by id (parsed once)."""
    folder = files(POLICY_PACKAGE).joinpath(POLICY_FOLDER)
    policies: dict[str, Policy] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith((".yaml", ".yml")):
            try:
                policy = parse_policy(item.read_text(encoding="utf-8"), item.name)
            except PolicyError as exc:  # our own data, not the user's input: never swallowed
                raise ReferenceDataError(f"bundled policy {exc}") from None
            if policy.id in policies:
                raise ReferenceDataError(f"two bundled policies use the id '{policy.id}'")
            policies[policy.id] = dataclasses.replace(policy, bundled=True)
    return policies


def get_policy(policy_id: str) -> Policy:
    """A bundled policy by id, or a policy file by path (``my-payer.yaml``)."""
    policies = bundled_policies()
    if policy_id in policies:
        return policies[policy_id]
    path = Path(policy_id)
    if path.suffix in (".yaml", ".yml"):
        try:
            return parse_policy(path.read_text(encoding="utf-8"), str(path))
        except OSError as exc:
            raise PolicyError(f"cannot read policy file {path}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise PolicyError(f"policy file {path} is not UTF-8 text (byte {exc.start}); save "
                              "it as UTF-8") from None
    raise PolicyError(f"no policy '{policy_id}'; bundled policies: {', '.join(policies)}")


def policy_for_payer(payer_policy_id: str) -> Policy | None:
    """The bundled policy with this id or encoding the payer's policy with this id, if any."""
    wanted = " ".join(payer_policy_id.split()).casefold()
    for policy in bundled_policies().values():
        ids = [policy.id] + ([policy.payer_policy.id] if policy.payer_policy else [])
        if wanted in (i.casefold() for i in ids):
            return policy
    return None


def default_policy(codes: list[str]) -> Policy | None:
    """The first bundled policy that applies to the first of ``codes`` any policy applies to."""
    for code in codes:
        for policy in bundled_policies().values():
            if policy.applies(code):
                return policy
    return None
