"""Payer rules: which templates a payer gets, from ``priorauth-templates.yaml`` in a template
folder (docs/templates.md). A rule names the payer by any of its names or aliases, or by
``payer.id``; ``policy_id`` narrows it. Every mistake in the file is a :class:`TemplateError`
naming the file and the rule."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from priorauth._yaml import strict_load
from priorauth.case.model import Case
from priorauth.errors import TemplateError
from priorauth.letter.templates import CONFIG_NAME, ROLES, TEMPLATE_NAME

__all__ = ["CONFIG_NAME", "PayerRule", "TemplateConfig", "load_config", "parse_config"]


@dataclass(frozen=True)
class PayerRule:
    """One entry of ``payers:`` in ``priorauth-templates.yaml``.

    The payer is identified by any of ``names`` (``payer.name``; aliases welcome) *or* any of
    ``payer_ids`` (``payer.id``); ``policy_id``, when given, must match as well. Compared
    ignoring case and runs of spaces."""

    source: Path
    templates: dict[str, str]
    names: tuple[str, ...] = ()
    payer_ids: tuple[str, ...] = ()
    policy_id: str | None = None
    index: int = 0

    @property
    def label(self) -> str:
        """Where the rule is written (``priorauth-templates.yaml payers[1]``): never record data."""
        return f"{self.source} payers[{self.index}]"

    def matches(self, case: Case) -> bool:
        if self.names or self.payer_ids:
            by_name = _fold(case.payer.name) in {_fold(name) for name in self.names}
            by_id = case.payer.id is not None and \
                _fold(case.payer.id) in {_fold(pid) for pid in self.payer_ids}
            if not (by_name or by_id):
                return False
        if self.policy_id is not None:
            return _fold(self.policy_id) == _fold(case.payer.policy_id or "")
        return True


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class TemplateConfig:
    """All payer rules of a search path, highest-priority folder first."""

    rules: list[PayerRule] = field(default_factory=list)

    def rule_for(self, case: Case, role: str) -> PayerRule | None:
        """The rule that picks the template for ``role`` and this case's payer, if any.

        A rule naming a policy wins over one naming only the payer; otherwise the first wins.
        """
        matching = [rule for rule in self.rules if role in rule.templates and rule.matches(case)]
        matching.sort(key=lambda rule: rule.policy_id is None)
        return matching[0] if matching else None

    def template_for(self, case: Case, role: str) -> str:
        """The template name for ``role`` (``letter``, ``appeal``, …) and this case's payer."""
        rule = self.rule_for(case, role)
        return rule.templates[role] if rule is not None else role


def load_config(folders: Sequence[Path]) -> TemplateConfig:
    """Read ``priorauth-templates.yaml`` from every folder of the search path that has one."""
    config = TemplateConfig()
    for folder in folders:
        path = Path(folder) / CONFIG_NAME
        if path.is_file():
            try:
                text = path.read_text("utf-8")
            except UnicodeDecodeError as exc:
                raise TemplateError(f"{path}: is not UTF-8 text (byte {exc.start}); save it as "
                                    "UTF-8") from None
            config.rules.extend(parse_config(text, path))
    return config


def parse_config(text: str, source: Path) -> list[PayerRule]:
    """Parse one config file; every mistake is a :class:`TemplateError` naming the file."""

    def fail(message: str) -> TemplateError:
        return TemplateError(f"{source}: {message}")

    try:
        data = strict_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise TemplateError(f"{source}{line}: not valid YAML ({problem})") from None
    if data is None:
        return []
    if not isinstance(data, dict) or set(data) - {"payers"}:
        raise fail("the file holds one key, 'payers:', a list of rules (see docs/templates.md)")
    entries = data.get("payers") or []
    if not isinstance(entries, list):
        raise fail("'payers' must be a list of rules")
    rules = []
    for index, entry in enumerate(entries):
        where = f"payers[{index}]"
        if not isinstance(entry, dict) or set(entry) - RULE_KEYS:
            raise fail(f"{where}: a rule has 'names' (or 'name'), 'payer_id' and/or "
                       "'policy_id', and 'templates'")
        names = _strings(entry, "name", where, fail) + _strings(entry, "names", where, fail)
        payer_ids = _strings(entry, "payer_id", where, fail)
        policy_id = entry.get("policy_id")
        if not names and not payer_ids and policy_id is None:
            raise fail(f"{where}: give the payer's 'names', a 'payer_id' or a 'policy_id' to "
                       "match")
        if policy_id is not None and not isinstance(policy_id, str | int):
            raise fail(f"{where}.policy_id: must be text")
        templates = entry.get("templates")
        if not isinstance(templates, dict) or not templates:
            raise fail(f"{where}.templates: map a role ({', '.join(ROLES)}) to a template name")
        for role, template in templates.items():
            if role not in ROLES:
                raise fail(f"{where}.templates: unknown role {role!r} (use {', '.join(ROLES)})")
            if not isinstance(template, str) or not TEMPLATE_NAME.fullmatch(template):
                raise fail(f"{where}.templates.{role}: {template!r} is not a template name "
                           "(letters, digits, '-' and '_', without .html.j2)")
        rules.append(PayerRule(source, dict(templates), tuple(names), tuple(payer_ids),
                               None if policy_id is None else str(policy_id), index))
    return rules


RULE_KEYS = frozenset({"name", "names", "payer_id", "policy_id", "templates"})


def _strings(entry: dict[Any, Any], key: str, where: str,
             fail: Callable[[str], TemplateError]) -> list[str]:
    """``key`` of a rule as a list of non-empty texts (one text or a list of them)."""
    value = entry.get(key)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not values or any(isinstance(v, bool) or not isinstance(v, str | int)
                         or not str(v).strip() for v in values):
        raise fail(f"{where}.{key}: give one text or a list of texts")
    return [str(v) for v in values]
