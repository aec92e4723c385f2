"""The checklist as text lines: what ``priorauth check`` prints (the CLI only colours them)."""

from __future__ import annotations

from priorauth.policy.checks import CheckReport, Verdict

MARKS = {True: "+", False: "-", None: "?"}


def report_lines(report: CheckReport, *, details: bool = True) -> list[tuple[str, str | None]]:
    """The checklist as ``(line, verdict)`` pairs; ``verdict`` is 'met' / 'not met' / 'unknown'
    for criterion lines (for colouring) and None otherwise."""
    lines: list[tuple[str, str | None]] = [
        (f"Policy {report.policy.id}: {report.policy.title}", None)]
    ref = report.policy.payer_policy
    if ref is not None:
        lines.append((f"  encodes payer policy {ref.id}: {ref.title} ({ref.url}), last checked "
                      f"{ref.reviewed.isoformat()}", None))
    for result in report.results:
        lines.append((f"  [{result.verdict.value}] {result.label}", result.verdict.value))
        lines.append((f"      {result.summary}", None))
        if result.fields:
            lines.append((f"      field{'s' if len(result.fields) > 1 else ''}: "
                          + ", ".join(result.fields), None))
        if details and (not result.met or len(result.facts) > 1):
            lines += [(f"        {MARKS[fact.counted]} {fact.text}", None)
                      for fact in result.facts]
    if report.severity:
        lines.append((f"Severity: {report.severity}. {report.severity_statement}", None))
    elif report.policy.severity:
        lines.append(("Severity: the record supports neither word, so the letter uses none.",
                      None))
    if report.policy.severity:
        lines += [(f"      {fact}", None) for fact in report.severity_facts]
    for warning in report.warnings:  # the checklist is the record's own report: values shown
        lines.append((f"warning: {warning.format(show_value=True)}", None))
    counts = {v: sum(r.verdict is v for r in report.results) for v in Verdict}
    lines.append((f"Result: {counts[Verdict.met]} of {len(report.results)} criteria met, "
                  f"{counts[Verdict.not_met]} not met, {counts[Verdict.unknown]} unknown", None))
    lines += [(line, None) for line in todo_lines(report)]
    return lines


def todo_lines(report: CheckReport) -> list[str]:
    """The short to-do list that ends the checklist: one line per criterion not met or unknown,
    naming the fields that would settle it."""
    lines = []
    for result in report.unmet:
        if not result.fields:
            continue
        shown = ", ".join(result.fields[:3])
        if len(result.fields) > 3:
            shown += f" (+{len(result.fields) - 3} more)"
        lines.append(f"  - {result.id} [{result.verdict.value}]: {shown}")
    if not lines:
        return []
    return ["To do (only with what the record supports; then run check again):", *lines]
