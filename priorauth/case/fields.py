"""Reusable, validated field types for the case model.

Each validator raises ``ValueError`` with a sentence a billing clerk can act on; ``load`` shows it
next to the field path.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, StringConstraints

# Documented limits (see README "Limits"): generous for real letters, small enough that a hostile
# file cannot make rendering run away.
MAX_NAME = 200
MAX_TEXT = 20_000

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME)]
"""A short single-line value: a name, an id, a dose."""

# C0 controls except tab/newline/CR, DEL, C1 controls, bidi embeddings/overrides/isolates (they can
# make a printed name read differently from the stored one) and lone surrogates (not encodable).
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError(
            "contains control or text-direction characters; retype the text without them"
        )
    return value


CleanName = Annotated[Name, AfterValidator(_no_control_characters)]

Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_no_control_characters),
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
    if not re.fullmatch(r"[12]\d{9}", npi):
        raise ValueError("an NPI is 10 digits starting with 1 or 2; copy it from NPPES")
    if not luhn_ok("80840" + npi):
        raise ValueError("this NPI fails its check digit; look for a mistyped digit (NPPES lookup)")
    return npi


NPI = Annotated[str, AfterValidator(_check_npi)]

ICD10_SHAPE = re.compile(r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def _check_icd10_shape(value: str) -> str:
    code = value.strip().upper()
    if re.fullmatch(r"[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}", code):
        code = f"{code[:3]}.{code[3:]}"  # G43719 -> G43.719, as EHRs often drop the dot
    if not ICD10_SHAPE.match(code):
        raise ValueError(
            "an ICD-10-CM code looks like G43.719 (letter, 2 characters, dot, up to 4)"
        )
    return code


ICD10Code = Annotated[str, AfterValidator(_check_icd10_shape)]


def _check_hcpcs(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"[A-V]\d{4}", code):
        raise ValueError("a HCPCS Level II code is a letter and 4 digits, e.g. J3490")
    return code


HCPCS = Annotated[str, AfterValidator(_check_hcpcs)]


def _check_cpt(value: str) -> str:
    code = value.strip().upper()
    if not re.fullmatch(r"\d{4}[0-9FTU]", code):
        raise ValueError("a CPT code is 5 characters, e.g. 96365")
    return code


CPT = Annotated[str, AfterValidator(_check_cpt)]


def _check_ndc(value: str) -> str:
    digits = value.replace("-", "")
    if not re.fullmatch(r"\d{11}", digits):
        raise ValueError(
            "payers want the 11-digit NDC in 5-4-2 form, e.g. 12345-6789-01 (pad with zeros)"
        )
    return f"{digits[:5]}-{digits[5:9]}-{digits[9:]}"


NDC = Annotated[str, AfterValidator(_check_ndc)]


def _check_case_id(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", value):
        raise ValueError(
            "a case id is 1-64 letters, digits, '.', '_' or '-' (it names output files)"
        )
    return value


CaseId = Annotated[str, AfterValidator(_check_case_id)]



def _pattern(regex: str, hint: str) -> AfterValidator:
    compiled = re.compile(regex)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(hint)
        return value

    return AfterValidator(check)


Phone = Annotated[
    str, _pattern(r"[0-9+() .\-x]{7,25}", "should be a phone or fax number like (555) 010-0199")
]
USState = Annotated[str, _pattern(r"[A-Z]{2}", "should be a two-letter state code, e.g. OH")]
ZIPCode = Annotated[
    str, _pattern(r"\d{5}(-\d{4})?", "should be a ZIP code like 43215 or 43215-0001")
]
