"""Which policy a case is checked against, and saying so when it is not the payer's own.

``--policy ID|FILE`` wins; then ``payer.policy_id`` when a bundled policy has that id (or encodes
that payer policy); then the bundled policy for the diagnoses. The bundled policies are generic
(EHF 2020, ICHD-3, AHS), so :func:`policy_warnings` says when the letter cites one of them rather
than the payer's policy, and when a policy file's review date is stale.
"""

from __future__ import annotations

import datetime as dt

from priorauth.case.model import Case
from priorauth.errors import NoPolicyError, Problem
from priorauth.policy.spec import Policy, default_policy, get_policy, policy_for_payer


def choose_policy(case: Case, policy: Policy | str | None = None) -> Policy | None:
    """The policy named (a Policy, a bundled id or a policy file), else the bundled policy for
    the diagnoses, else ``None``: no policy applies (a result, not an error)."""
    if isinstance(policy, Policy):
        return policy
    if policy:
        return get_policy(policy)
    if case.payer.policy_id:
        found = policy_for_payer(case.payer.policy_id)
        if found is not None:
            return found
    codes = [case.primary_diagnosis.code] + [d.code for d in case.diagnoses]
    return default_policy(codes)


REVIEW_MONTHS = 12


def policy_warnings(case: Case, policy: Policy) -> list[Problem]:
    """Whose criteria the checklist applies: the generic bundled policy rather than the payer's,
    a policy file for another payer policy, or a file not checked against the payer's policy for
    more than a year. Messages name fields, never record values."""
    warnings: list[Problem] = []
    ref = policy.payer_policy
    matches = (ref is not None and case.payer.policy_id is not None
               and " ".join(case.payer.policy_id.split()).casefold() == ref.id.casefold())
    if policy.bundled and not matches and policy.id != case.payer.policy_id:
        recorded = ("no bundled policy or policy file (--policy FILE) encodes this payer policy"
                    if case.payer.policy_id else "not recorded")
        warnings.append(Problem("payer.policy_id", (
            f"{recorded}: the checklist and letter cite the generic bundled policy "
            f"'{policy.id}', not the payer's own; encode the payer's policy in a file and give it "
            "with --policy FILE"), code="warning.policy_generic"))
    if not policy.bundled:
        if ref is None:
            warnings.append(Problem("payer_policy", (
                f"policy file '{policy.id}' does not name the payer policy it encodes; add "
                "payer_policy: {id, title, url, reviewed} to it"), code="warning.policy_file"))
        elif case.payer.policy_id and not matches:
            warnings.append(Problem("payer.policy_id", (
                f"differs from payer_policy.id of policy file '{policy.id}'; check that the file "
                "encodes this payer's policy"), code="warning.policy_file"))
    if ref is not None and ref.reviewed < _months_before(case.letter.date, REVIEW_MONTHS):
        warnings.append(Problem("payer_policy.reviewed", (
            f"policy '{policy.id}' was last checked against the payer's policy more than "
            f"{REVIEW_MONTHS} months before the letter date (letter.date); check the payer's "
            "current policy and update 'reviewed'"), code="warning.policy_stale"))
    return warnings


def _months_before(day: dt.date, months: int) -> dt.date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    for last in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, last)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def resolve_policy(case: Case, policy: Policy | str | None = None) -> Policy:
    """Like :func:`choose_policy`, but no applicable policy raises :class:`NoPolicyError`."""
    found = choose_policy(case, policy)
    if found is None:
        raise NoPolicyError()
    return found
