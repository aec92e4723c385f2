"""The therapy catalogue: drug and procedure names -> class, from ``reference/therapies.yaml``.

Public API (other modules, e.g. the FHIR importer, depend on it):

- :func:`lookup` ``(name) -> CatalogueEntry | None``: generic or brand name, case- and
  whitespace-insensitive, ignoring formulation, salt and dose words ("Propranolol ER 80 mg").
- :func:`lookup_class` ``(text) -> TherapyClass | None``: a recorded class ("SNRI", "ARB").
- :func:`resolve` ``(therapy) -> ClassResolution``: the class a case's therapy counts as, inferred
  when the case omits ``class``, with a warning when the recorded class disagrees.

The data file is parsed once per process, on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from priorauth.case.model import PriorTherapy, Role
from priorauth.errors import ReferenceDataError
from priorauth.reference import load_yaml

CATALOGUE_FILE = "therapies.yaml"


@dataclass(frozen=True)
class TherapyClass:
    id: str
    label: str
    role: Role
    roles: frozenset[Role]
    ehf_preventive_class: str | None
    aliases: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CatalogueEntry:
    """One drug or procedure. ``role`` is its usual role; ``roles`` every role it is used in."""

    name: str
    class_id: str
    class_label: str
    role: Role
    ehf_preventive_class: str | None
    roles: frozenset[Role] = frozenset()
    brands: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    historical_brands: tuple[str, ...] = ()
    """Brands no longer marketed in the US: recognised in records, never printed."""
    dosing: frozenset[str] = frozenset()
    """'monthly' / 'quarterly' for drugs judged after a dosing-dependent time (CGRP mAbs)."""


@dataclass(frozen=True)
class ClassResolution:
    """The class a recorded therapy counts as, and how priorauth decided it."""

    class_id: str | None
    class_label: str | None
    ehf_preventive_class: str | None
    how: str
    """'catalogue' (from the drug name), 'recorded' (from the case's class), 'unknown'."""
    entry: CatalogueEntry | None = None
    warning: str | None = None


@dataclass(frozen=True)
class Catalogue:
    classes: Mapping[str, TherapyClass]
    entries: Mapping[str, CatalogueEntry]
    """Normalized name (generic, brand, synonym; with and without ignored words) -> entry."""
    class_aliases: Mapping[str, str]
    ignore_words: frozenset[str]
    ehf_classes: Mapping[str, str]
    sources: Mapping[str, str]

    def normalize(self, text: str) -> str:
        return _normalize(text)

    def keys_for(self, text: str) -> list[str]:
        """Lookup keys for ``text``: as written, without parentheses, without ignored words."""
        return _keys(text, self.ignore_words)


_SPLIT = re.compile(r"[\s/,+&_]+|(?<![0-9])-|-(?![0-9])")
_NUMBER = re.compile(r"^[0-9][0-9.,]*(mg|mcg|g|ml|units?|u|%)?$")


def _normalize(text: str) -> str:
    text = text.casefold().replace("\u00a0", " ")
    return " ".join(part for part in _SPLIT.split(text) if part)


def _keys(text: str, ignore: frozenset[str]) -> list[str]:
    keys: list[str] = []
    base = _normalize(text)
    no_parens = _normalize(re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text.casefold()))
    for candidate in (base, no_parens):
        if candidate and candidate not in keys:
            keys.append(candidate)
        stripped = " ".join(w for w in candidate.split()
                            if w not in ignore and not _NUMBER.match(w) and w != ".")
        if stripped and stripped not in keys:
            keys.append(stripped)
    # "Onabotulinumtoxina (Botox)": also try what is inside the parentheses.
    for inner in re.findall(r"\(([^)]*)\)", text):
        for key in _keys(inner, ignore):
            if key not in keys:
                keys.append(key)
    return keys


def _role(value: Any, where: str) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise ReferenceDataError(f"{CATALOGUE_FILE}: {where}: unknown role {value!r}") from None


def _sources(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return tuple(s.strip() for s in str(value).split(",") if s.strip())


_DOSING = frozenset({"monthly", "quarterly"})


def _dosing(value: Any, where: str) -> frozenset[str]:
    found = frozenset(str(v) for v in value or [])
    if found - _DOSING:
        raise ReferenceDataError(f"{CATALOGUE_FILE}: {where}: dosing must be among "
                                 f"{', '.join(sorted(_DOSING))}")
    return found


def build_catalogue(data: Mapping[str, Any]) -> Catalogue:
    """Check and index the parsed catalogue file; :class:`ReferenceDataError` when malformed."""
    ignore = frozenset(_normalize(str(w)) for w in data.get("ignore_words") or [])
    sources = {str(k): " ".join(str(v).split()) for k, v in (data.get("sources") or {}).items()}
    ehf = {str(k): str(v) for k, v in (data.get("ehf_preventive_classes") or {}).items()}
    classes: dict[str, TherapyClass] = {}
    entries: dict[str, CatalogueEntry] = {}
    aliases: dict[str, str] = {}
    for class_id, spec in (data.get("classes") or {}).items():
        where = f"classes.{class_id}"
        role = _role(spec.get("role"), where)
        roles = frozenset(_role(r, where) for r in spec.get("roles") or [role]) | {role}
        ehf_class = spec.get("ehf_preventive_class")
        if ehf_class is not None and ehf_class not in ehf:
            raise ReferenceDataError(f"{CATALOGUE_FILE}: {where}: unknown EHF class {ehf_class!r}")
        class_sources = _sources(spec.get("source"))
        missing = [s for s in class_sources if s not in sources]
        if not class_sources or missing:
            raise ReferenceDataError(f"{CATALOGUE_FILE}: {where}: every class needs a source "
                                     f"listed under 'sources' (missing: "
                                     f"{', '.join(missing) or 'source'})")
        therapy_class = TherapyClass(
            id=str(class_id), label=str(spec["label"]), role=role, roles=roles,
            ehf_preventive_class=ehf_class,
            aliases=tuple(str(a) for a in spec.get("aliases") or []), sources=class_sources)
        classes[therapy_class.id] = therapy_class
        for alias in (class_id, therapy_class.label, *therapy_class.aliases):
            for key in _keys(str(alias).replace("_", " "), frozenset()):
                aliases.setdefault(key, therapy_class.id)
        for drug in spec.get("drugs") or []:
            drug_roles = frozenset(_role(r, where) for r in drug.get("roles") or roles)
            drug_role = role if role in drug_roles else sorted(drug_roles)[0]
            entry = CatalogueEntry(
                name=str(drug["name"]), class_id=therapy_class.id, class_label=therapy_class.label,
                role=drug_role,
                ehf_preventive_class=drug.get("ehf_preventive_class", ehf_class),
                roles=drug_roles, brands=tuple(str(b) for b in drug.get("brands") or []),
                sources=class_sources,
                historical_brands=tuple(str(b) for b in drug.get("historical_brands") or []),
                dosing=_dosing(drug.get("dosing"), where))
            names = [entry.name, *entry.brands, *entry.historical_brands,
                     *(str(s) for s in drug.get("synonyms") or [])]
            for name in names:
                for key in _keys(name, ignore):
                    entries.setdefault(key, entry)
    return Catalogue(classes, entries, aliases, ignore, ehf, sources)


@functools.cache
def catalogue() -> Catalogue:
    """The bundled catalogue, parsed once."""
    return build_catalogue(load_yaml(CATALOGUE_FILE))


def lookup(name: str) -> CatalogueEntry | None:
    """The catalogue entry for a generic, brand or other documented name, or ``None``."""
    cat = catalogue()
    keys = _keys(name, cat.ignore_words)
    for key in keys:
        entry = cat.entries.get(key)
        if entry is not None:
            return entry
    # Longest leading words: "erenumab-aooe", "greater occipital nerve block, bilateral".
    for key in keys:
        words = key.split()
        for size in range(len(words) - 1, 0, -1):
            entry = cat.entries.get(" ".join(words[:size]))
            if entry is not None:
                return entry
    return None


MISSPELLINGS_FILE = "misspellings.yaml"


@functools.cache
def _misspellings() -> dict[str, str]:
    """Misspelling (normalized) -> the catalogue name to suggest; every target must resolve."""
    data = load_yaml(MISSPELLINGS_FILE)
    found: dict[str, str] = {}
    for wrong, right in (data.get("misspellings") or {}).items():
        if lookup(str(right)) is None:
            raise ReferenceDataError(f"{MISSPELLINGS_FILE}: '{right}' is not in the therapy "
                                     "catalogue")
        found[_normalize(str(wrong))] = str(right)
    return found


def suggest(name: str) -> str | None:
    """The catalogue name a misspelt therapy name probably means ("topirimate" -> "topiramate"),
    from the curated list only; ``None`` when the name is known or not a listed misspelling."""
    if lookup(name) is not None:
        return None
    table = _misspellings()
    for key in _keys(name, catalogue().ignore_words):
        for word in (key, *key.split()):
            if word in table:
                return table[word]
    return None


def lookup_class(text: str) -> TherapyClass | None:
    """The therapy class a recorded class name ("SNRI", "beta blocker") stands for, or ``None``."""
    cat = catalogue()
    for key in _keys(text.replace("_", " "), frozenset()):
        class_id = cat.class_aliases.get(key)
        if class_id is not None:
            return cat.classes[class_id]
    return None


def get_class(class_id: str) -> TherapyClass | None:
    return catalogue().classes.get(class_id)


def all_classes() -> list[TherapyClass]:
    return list(catalogue().classes.values())


def ehf_classes() -> Mapping[str, str]:
    """EHF 2020 preventive classes: id -> label."""
    return catalogue().ehf_classes


def resolve(therapy: PriorTherapy) -> ClassResolution:
    """The class ``therapy`` counts as.

    The drug name decides when the catalogue knows it (a mistyped ``class`` must not make a
    beta-blocker count as a second antiepileptic); the recorded class is used for names the
    catalogue does not know. Disagreements come back as a warning, never an error.
    """
    entry = lookup(therapy.name)
    recorded = lookup_class(therapy.class_) if therapy.class_ else None
    if entry is not None:
        warning = None
        if therapy.class_ and recorded is None:
            warning = (f"class '{therapy.class_}' is not a class priorauth knows; {entry.name} is "
                       f"counted as {entry.class_label} (from the therapy catalogue)")
        elif recorded is not None and recorded.id != entry.class_id:
            warning = (f"class '{therapy.class_}' disagrees with the therapy catalogue: "
                       f"{entry.name} is {_article(entry.class_label)} {entry.class_label}; "
                       f"counted as {entry.class_label}")
        return ClassResolution(entry.class_id, entry.class_label, entry.ehf_preventive_class,
                               "catalogue", entry, warning)
    guess = suggest(therapy.name)
    hint = (f"; did you mean '{guess}'? (a suggestion: priorauth never corrects a name, fix it "
            "in the record)" if guess else "")
    if recorded is not None:
        return ClassResolution(recorded.id, recorded.label, recorded.ehf_preventive_class,
                               "recorded", None,
                               f"not in the therapy catalogue{hint}" if guess else None)
    if therapy.class_:
        return ClassResolution(None, therapy.class_, None, "unknown", None,
                               f"neither '{therapy.name}' nor its class '{therapy.class_}' is in "
                               f"the therapy catalogue; it cannot count towards class criteria"
                               f"{hint}")
    return ClassResolution(None, None, None, "unknown", None,
                           f"'{therapy.name}' is not in the therapy catalogue and no class is "
                           f"recorded; add 'class' so it can count towards class criteria{hint}")


def display_name(name: str) -> str:
    """The name a letter prints: a brand as typed followed by its generic ("Topamax
    (topiramate)"); a generic, a synonym or an unknown name exactly as typed. A generic is never
    given a brand the record does not name."""
    entry = lookup(name)
    if entry is None or _normalize(entry.name) in _normalize(name):
        return name
    cat = catalogue()
    keys = set(_keys(name, cat.ignore_words))
    for brand in (*entry.brands, *entry.historical_brands):
        brand_keys = set(_keys(brand, cat.ignore_words))
        if keys & brand_keys or any(k.startswith(b + " ") for k in keys for b in brand_keys):
            return f"{name} ({entry.name})"
    return name


def role_mismatch(therapy: PriorTherapy) -> str | None:
    """Why a therapy recorded in a role its catalogue entry lacks cannot count in that role
    (an acute-only gepant recorded as a preventive), or ``None``."""
    entry = lookup(therapy.name)
    if entry is None or therapy.role in entry.roles:
        return None
    uses = " or ".join(sorted(r.value for r in entry.roles))
    return (f"recorded as {therapy.role.value}, but the therapy catalogue lists {entry.name} for "
            f"{uses} use only; it does not count toward a {therapy.role.value} class")


def class_label(therapy: PriorTherapy) -> str | None:
    """The label to print for a therapy's class: the recorded text, else the inferred class."""
    if therapy.class_:
        return therapy.class_
    entry = lookup(therapy.name)
    return entry.class_label if entry else None


def names_in(class_ids: Iterable[str]) -> list[str]:
    """Generic names the catalogue lists for the given classes (for messages)."""
    wanted = set(class_ids)
    seen: dict[str, None] = {}
    for entry in catalogue().entries.values():
        if entry.class_id in wanted:
            seen.setdefault(entry.name, None)
    return list(seen)


def _article(label: str) -> str:
    return "an" if label[:1].lower() in "aeiou" else "a"
