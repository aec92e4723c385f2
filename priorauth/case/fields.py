"""Reusable, validated field types for the case model.

Each validator raises :class:`~priorauth.errors.InvalidValue` (a ``ValueError`` with a stable
code) and a sentence a billing clerk can act on; ``load`` shows it
next to the field path.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from priorauth.errors import InvalidValue


# In schema patterns, `[^\S\x1c-\x1f]` is the whitespace the model trims (pydantic trims as Rust
# does: not U+001C-U+001F, which Python's str.strip() and `\s` include); `\s` where a validator
# trims with str.strip() itself (codes, dates).
@dataclass(frozen=True)
class SchemaHint:
    """JSON Schema keywords (a pattern, a format, a description) for a field type, so editors
    check as the user types what the validator checks. The validator stays the judge: a hint
    must accept every value the validator accepts (surrounding spaces included, as the model
    strips them); tests/case/test_schema.py holds it to that."""

    pattern: str | None = None
    description: str | None = None
    format: str | None = None

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        for key in ("pattern", "description", "format"):
            if getattr(self, key) is not None:
                schema[key] = getattr(self, key)
        return schema


# Documented limits (see README "Limits"): generous for real letters, small enough that a hostile
# file cannot make rendering run away.
MAX_NAME = 200
MAX_TEXT = 20_000

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
"""A short single-line value: a name, an id, a dose."""

# Characters that print as nothing, or change how the rest of a line is ordered, make a printed
# value differ from the stored one: U+200F (RLM) inside a member ID reorders it on the page,
# U+200B / U+2060 make a name print blank. Names and identifiers may hold none of them (Unicode
# categories Cc, Cf, Cs, Zl, Zp, Co, and the Hangul fillers that render blank); free text keeps
# only what a language needs: tab and line breaks, ZWNJ/ZWJ (Persian, Indic scripts), the
# direction marks LRM/RLM/ALM (mixed right-to-left text) and the soft hyphen.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_TEXT_ALLOWED = frozenset("\t\n\r\u200c\u200d\u200e\u200f\u061c\u00ad")
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp", "Co"})


def _invisible(value: str, allowed: frozenset[str],
               categories: frozenset[str] = _REFUSED_CATEGORIES) -> str | None:
    """The first character ``value`` may not hold, or None."""
    for char in value:
        if char in allowed:
            continue
        if char in _BLANK_LETTERS or unicodedata.category(char) in categories:
            return char
    return None


def _no_control_characters(value: str) -> str:
    char = _invisible(value, frozenset())
    if char is not None:
        raise InvalidValue(
            "text.invisible_character",
            f"contains an invisible, control or text-direction character (U+{ord(char):04X}); "
            "retype the value without it"
        )
    return value


def _text_characters(value: str) -> str:
    char = _invisible(value, _TEXT_ALLOWED, _REFUSED_CATEGORIES - {"Co"})  # glyphs.py warns
    if char is not None:
        raise InvalidValue(
            "text.invisible_character",
            f"contains an invisible, control or text-direction character (U+{ord(char):04X}); "
            "retype the text without it"
        )
    return value


CleanName = Annotated[Name, AfterValidator(_no_control_characters)]

Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_text_characters),
]
"""Free text from the record (details, rationale); line breaks allowed, control characters not."""


def luhn_ok(digits: str) -> bool:
    """Standard Luhn check (ISO/IEC 7812), used by the NPI on the '80840' prefix."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def _check_npi(value: str) -> str:
    npi = value.replace(" ", "")
    if not re.fullmatch(r"[12][0-9]{9}", npi):
        raise InvalidValue("npi.format",
                           "an NPI is 10 digits starting with 1 or 2; copy it from NPPES")
    if not luhn_ok("80840" + npi):
        raise InvalidValue("npi.checksum", "this NPI fails its check digit; look for a mistyped "
                           "digit (NPPES lookup)")
    return npi


NPI = Annotated[str, AfterValidator(_check_npi), SchemaHint(
    r"^[^\S\x1c-\x1f]*[12]( *[0-9]){9}[^\S\x1c-\x1f]*$",
    "National Provider Identifier: 10 digits starting with 1 or 2, passing the Luhn check on "
    "the 80840 prefix (NPPES).")]

ICD10_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def _check_icd10_shape(value: str) -> str:
    code = value.strip().upper() if value.isascii() else "?"
    if re.fullmatch(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}", code):
        code = f"{code[:3]}.{code[3:]}"  # G43719 -> G43.719, as EHRs often drop the dot
    if not ICD10_SHAPE.match(code):
        raise InvalidValue(
            "icd10.format",
            "an ICD-10-CM code looks like G43.719 (letter, 2 characters, dot, up to 4)"
        )
    return code


ICD10Code = Annotated[str, AfterValidator(_check_icd10_shape), SchemaHint(
    r"^\s*[A-Za-z][0-9][0-9A-Za-z](\.?[0-9A-Za-z]{1,4})?\s*$",
    "ICD-10-CM code such as G43.719 (the dot may be left out); it must be billable in the "
    "bundled code table.")]


def _check_hcpcs(value: str) -> str:
    code = value.strip().upper() if value.isascii() else "?"
    if not re.fullmatch(r"[A-V][0-9]{4}", code):
        raise InvalidValue("hcpcs.format",
                           "a HCPCS Level II code is a letter and 4 digits, e.g. J3490")
    return code


HCPCS = Annotated[str, AfterValidator(_check_hcpcs), SchemaHint(
    r"^\s*[A-Va-v][0-9]{4}\s*$", "HCPCS Level II code: a letter and 4 digits, e.g. J3490.")]


def _check_cpt(value: str) -> str:
    code = value.strip().upper() if value.isascii() else "?"
    if not re.fullmatch(r"[0-9]{4}[0-9FTU]", code):
        raise InvalidValue("cpt.format", "a CPT code is 5 characters, e.g. 96365")
    return code


CPT = Annotated[str, AfterValidator(_check_cpt), SchemaHint(
    r"^\s*[0-9]{4}[0-9FTUftu]\s*$", "CPT code: 5 characters, e.g. 96365.")]


def _check_ndc(value: str) -> str:
    digits = value.replace("-", "")
    if not re.fullmatch(r"[0-9]{11}", digits):
        raise InvalidValue(
            "ndc.format",
            "payers want the 11-digit NDC in 5-4-2 form, e.g. 12345-6789-01 (pad with zeros)"
        )
    return f"{digits[:5]}-{digits[5:9]}-{digits[9:]}"


NDC = Annotated[str, AfterValidator(_check_ndc), SchemaHint(
    r"^[^\S\x1c-\x1f]*(-*[0-9]){11}-*[^\S\x1c-\x1f]*$",
    "National Drug Code, 11 digits in 5-4-2 form, e.g. 12345-6789-01 (dashes optional).")]


def _check_case_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise InvalidValue(
            "case_id.format",
            "a case id is 1-64 letters, digits, '.', '_' or '-' (it names output files)"
        )
    return value


CaseId = Annotated[str, AfterValidator(_check_case_id), SchemaHint(
    r"^[^\S\x1c-\x1f]*[A-Za-z0-9][A-Za-z0-9._-]{0,63}[^\S\x1c-\x1f]*$")]



def _pattern(regex: str, hint: str, code: str,
             schema: str | None = None) -> tuple[AfterValidator, SchemaHint]:
    """A validator for text that must match ``regex`` once trimmed, and the schema pattern
    that says the same of the untrimmed text (``schema`` when spaces are allowed inside)."""
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise InvalidValue(code, hint)
        return value

    return AfterValidator(check), SchemaHint(schema or rf"^[^\S\x1c-\x1f]*{regex}[^\S\x1c-\x1f]*$")


Phone = Annotated[
    str, *_pattern(r"[0-9+() .\-x]{7,25}", "should be a phone or fax number like (555) 010-0199",
                   "phone.format",
                   # trimmed text starts and ends with a non-space: 7-25 characters in all
                   r"^[^\S\x1c-\x1f]*[0-9+().\-x][0-9+() .\-x]{5,23}[0-9+().\-x][^\S\x1c-\x1f]*$")
]
USState = Annotated[str, *_pattern(r"[A-Z]{2}", "should be a two-letter state code, e.g. OH",
                                          "state.format")]
ZIPCode = Annotated[
    str, *_pattern(r"[0-9]{5}(-[0-9]{4})?", "should be a ZIP code like 43215 or 43215-0001",
                  "zip.format")
]


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: object) -> object:
    """Dates only as written YYYY-MM-DD (YAML reads those as dates already): a number is never
    a date (``0`` once became 01/01/1970, a digit string a Unix timestamp)."""
    if isinstance(value, dt.datetime):
        raise InvalidValue("date.format", "must be a date written YYYY-MM-DD, without a time")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        return value.strip()
    raise InvalidValue("date.format", "must be a date written YYYY-MM-DD, e.g. 2024-03-31")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date), SchemaHint(
    r"^\s*[0-9]{4}-[0-9]{2}-[0-9]{2}\s*$", format="date")]
"""A calendar date from ``YYYY-MM-DD`` text or a YAML date, nothing else."""
