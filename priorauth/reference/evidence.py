"""The evidence library (``reference/evidence.yaml``): citations a letter may print.

Entries come only from the project's checked clinical reference; identifiers (DOI, PMID, volume,
pages) are printed only when the library has them. :func:`check_id` is the validator behind a
case's ``evidence[i]``.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from priorauth.errors import DetailedValueError, PolicyError, ReferenceDataError
from priorauth.reference import load_yaml

EVIDENCE_FILE = "evidence.yaml"
REQUIRED = ("authors", "title", "journal", "year", "design", "summary", "indications",
            "verified_against")


@dataclass(frozen=True)
class EvidenceEntry:
    id: str
    authors: str
    title: str
    journal: str
    year: int
    design: str
    summary: str
    indications: tuple[str, ...]
    verified_against: str
    volume: str | None = None
    issue: str | None = None
    pages: str | None = None
    article: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    size: str | None = None
    negative: bool = False

    @property
    def citation(self) -> str:
        """Vancouver-style citation with only the identifiers the library holds."""
        text = f"{self.authors.rstrip('.')}. {self.title.rstrip('.')}. {self.journal}. {self.year}"
        if self.volume:
            text += f";{self.volume}"
            if self.issue:
                text += f"({self.issue})"
            if self.pages:
                text += f":{self.pages}"
            elif self.article:
                text += f":{self.article}"
        text += "."
        if self.doi:
            text += f" doi:{self.doi}."
        if self.pmid:
            text += f" PMID {self.pmid}."
        elif self.pmcid:
            text += f" {self.pmcid}."
        return text

    @property
    def design_line(self) -> str:
        """'Retrospective analysis; 77 patients (...)'."""
        return f"{self.design}; {self.size}" if self.size else self.design

    @property
    def letter_summary(self) -> str:
        """What the letter prints after the citation: design, size, neutral one-line summary."""
        return f"{self.design_line}. {self.summary}"


def _text(value: Any) -> str:
    return " ".join(str(value).split())


def build_library(data: Mapping[str, Any]) -> dict[str, EvidenceEntry]:
    library: dict[str, EvidenceEntry] = {}
    for key, spec in (data or {}).items():
        if not isinstance(spec, dict):
            raise ReferenceDataError(f"{EVIDENCE_FILE}: {key}: must be a mapping of fields")
        missing = [name for name in REQUIRED if not spec.get(name)]
        if missing:
            raise ReferenceDataError(f"{EVIDENCE_FILE}: {key}: missing {', '.join(missing)}")
        optional = {name: _text(spec[name]) for name in
                    ("volume", "issue", "pages", "article", "doi", "pmid", "pmcid", "size")
                    if spec.get(name) is not None}
        library[str(key)] = EvidenceEntry(
            id=str(key), authors=_text(spec["authors"]), title=_text(spec["title"]),
            journal=_text(spec["journal"]), year=int(spec["year"]), design=_text(spec["design"]),
            summary=_text(spec["summary"]),
            indications=tuple(str(i) for i in spec["indications"]),
            verified_against=_text(spec["verified_against"]),
            negative=bool(spec.get("negative", False)), **optional)
    return library


@functools.cache
def library() -> dict[str, EvidenceEntry]:
    """The bundled library, id -> entry, parsed once."""
    return build_library(load_yaml(EVIDENCE_FILE))


def get(evidence_id: str) -> EvidenceEntry | None:
    return library().get(evidence_id)


def check_id(evidence_id: str) -> str:
    """Validator for a case's ``evidence[i]``: the id must be in the library."""
    if evidence_id in library():
        return evidence_id
    close = difflib.get_close_matches(evidence_id, list(library()), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "see `priorauth evidence list`"
    # The hint names a library id, never the id as typed (that goes in the detail).
    raise DetailedValueError(f"is not in the evidence library; {hint}", f"'{evidence_id}'",
                             code="evidence.unknown")


@dataclass(frozen=True)
class CitedEvidence:
    """One item of the letter's "Published evidence" list."""

    id: str
    """Its id in the evidence library (``priorauth evidence list``)."""
    citation: str
    """Vancouver-style citation with only the identifiers the library holds."""
    summary: str
    """Design and size, then the neutral one-line summary."""


def cite(ids: Iterable[str]) -> list[CitedEvidence]:
    """Letter items for ``ids`` (in order, each once)."""
    return [CitedEvidence(e.id, e.citation, e.letter_summary) for e in entries(dict.fromkeys(ids))]


def entries(ids: Iterable[str]) -> list[EvidenceEntry]:
    """Entries for ``ids`` in the given order; unknown ids raise :class:`PolicyError`."""
    found: list[EvidenceEntry] = []
    for evidence_id in ids:
        entry = get(evidence_id)
        if entry is None:
            raise PolicyError(f"evidence id '{evidence_id}' is not in the evidence library")
        found.append(entry)
    return found
