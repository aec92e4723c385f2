"""ICD-10-CM lookups through the compact bundled index (``reference/icd10cm.tsv.gz``).

The index is an extract of the official code table made by
``python tools/build_icd_index.py`` from the ``simple-icd-10-cm`` package; importing
that package takes seconds, reading this index takes milliseconds. It is read on first use and
looked up in place (sorted text, no per-code objects), so ``validate`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import functools
import gzip
import re
from dataclasses import dataclass
from importlib.resources import files

from priorauth.errors import DetailedValueError

INDEX_NAME = "icd10cm.tsv.gz"
MAX_CHILDREN_NAMED = 8


@dataclass(frozen=True)
class IcdCode:
    code: str
    billable: bool
    """True when the code has no children and may be used on a claim."""
    description: str
    """The official ICD-10-CM description."""


@functools.cache
def _index_text() -> str:
    raw = files("priorauth.reference").joinpath(INDEX_NAME).read_bytes()
    return "\n" + gzip.decompress(raw).decode("utf-8")


@functools.cache
def index_source() -> str:
    """The index's provenance line (library version and code-table release); found in place,
    not by splitting the ~75,000-line index (that cost ``validate`` 20 ms a call)."""
    text = _index_text()
    start = text.find("\n# generated")
    if start < 0:
        return ""
    end = text.find("\n", start + 1)
    return text[start + 3: end if end >= 0 else len(text)]


def _parse(line: str) -> IcdCode:
    code, flag, description = line.split("\t", 2)
    return IcdCode(code, flag == "B", description)


def lookup(code: str) -> IcdCode | None:
    """The index entry for a dotted code (``G43.719``), or ``None`` when it is not in the table."""
    code = code.strip().upper()
    if not code or "\t" in code or "\n" in code:
        return None
    text = _index_text()
    start = text.find(f"\n{code}\t")
    if start < 0:
        return None
    end = text.find("\n", start + 1)
    return _parse(text[start + 1: end if end >= 0 else len(text)])


def descendants(code: str) -> list[IcdCode]:
    """Every code under ``code`` (the index is sorted, so they follow it)."""
    text = _index_text()
    code = code.strip().upper()
    start = text.find(f"\n{code}\t")
    if start < 0:
        return []
    found: list[IcdCode] = []
    position = text.find("\n", start + 1)
    while position >= 0 and text.startswith(f"\n{code}", position):
        end = text.find("\n", position + 1)
        found.append(_parse(text[position + 1: end if end >= 0 else len(text)]))
        position = end
    return found


def billable_children(code: str) -> list[IcdCode]:
    """The billable codes under a header code."""
    return [item for item in descendants(code) if item.billable]


def official_description(code: str) -> str | None:
    found = lookup(code)
    return found.description if found else None


def check_billable(code: str) -> str:
    """Return ``code`` if it is a billable ICD-10-CM code; otherwise raise a
    :class:`DetailedValueError` whose detail says what to use instead."""
    found = lookup(code)
    if found is None:
        parent = _nearest_known_parent(code)
        hint = ""
        if parent is not None:
            hint = f"; codes under {parent.code} ({parent.description}) include " + _names(
                billable_children(parent.code) or [parent])
        # The code and its category are the patient's diagnosis: only in the detail.
        raise DetailedValueError(
            f"is not in the {_release()} ICD-10-CM code table",
            f"{code} is not in the {_release()} ICD-10-CM code table{hint}", code="icd10.unknown")
    if not found.billable:
        children = billable_children(code)
        if len(children) <= MAX_CHILDREN_NAMED:
            raise DetailedValueError(
                "is a header code, not billable; use one of its billable codes",
                f"{code} ({found.description}) is a header code, not billable; use one of its "
                f"billable codes: {_names(children)}", code="icd10.not_billable")
        below = descendants(code)
        shortest = min(len(c.code) for c in below)
        next_level = [c for c in below if len(c.code) == shortest]
        raise DetailedValueError(
            "is a header code, not billable; choose a billable code under it",
            f"{code} ({found.description}) is a header code, not billable; choose a billable "
            f"code under one of: {_names(next_level)}", code="icd10.not_billable")
    return code


def _names(codes: list[IcdCode]) -> str:
    shown = ", ".join(f"{c.code} ({c.description})" for c in codes[:MAX_CHILDREN_NAMED])
    if len(codes) > MAX_CHILDREN_NAMED:
        shown += f", and {len(codes) - MAX_CHILDREN_NAMED} more"
    return shown


def _nearest_known_parent(code: str) -> IcdCode | None:
    code = code.strip().upper()
    while len(code) > 3:
        code = code[:-1].rstrip(".")
        found = lookup(code)
        if found is not None:
            return found
    return None


def _release() -> str:
    match = re.search(r"code-list-([A-Za-z]+-\d{4})", index_source())
    return match.group(1).replace("-", " ") if match else "bundled"


_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")


def fiscal_year_end() -> dt.date | None:
    """Last day of the ICD-10-CM fiscal year of the bundled index (FY N runs 1 Oct N-1 to
    30 Sep N; the April 2026 update belongs to FY2026), or ``None`` when the index does not say."""
    match = re.search(r"code-list-([A-Za-z]+)-(\d{4})", index_source())
    if not match or match.group(1).casefold() not in _MONTHS:
        return None
    month = _MONTHS.index(match.group(1).casefold()) + 1
    year = int(match.group(2))
    return dt.date(year + 1 if month >= 10 else year, 9, 30)


def fiscal_year_note(letter_date: dt.date) -> str | None:
    """A note when the letter is dated after the index's fiscal year: codes may have changed."""
    end = fiscal_year_end()
    if end is None or letter_date <= end:
        return None
    return (f"the letter is dated in ICD-10-CM FY{letter_date.year + (letter_date.month >= 10)}, "
            f"but the bundled code index is FY{end.year} ({_release()} update, valid to "
            f"{end.isoformat()}); check the codes against the current code set "
            "(docs/policies.md: rebuilding the ICD-10-CM index)")


def _simplify(text: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold()).split())


def description_disagrees(code: str, documented: str | None) -> str | None:
    """The official description when ``documented`` says something different, else ``None``."""
    if not documented:
        return None
    official = official_description(code)
    if official is None or _simplify(official) == _simplify(documented):
        return None
    return official
