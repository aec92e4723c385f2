"""Stable problem codes: the one list a pipeline can branch on instead of parsing messages.

A code names *what kind* of thing is wrong (``npi.checksum``), never the value. Codes come from
three places, all declared here: pydantic's error types (mapped in :data:`PYDANTIC_CODES`), our own
validators (they raise :class:`priorauth.errors.InvalidValue` with one of these codes) and the
readers and checklist (file, YAML/JSON, criterion verdicts). A code, once published, keeps its
meaning; new codes may be added. ``docs/machine-output.md`` lists them for people.
"""

from __future__ import annotations

CODES: dict[str, str] = {
    # reading the input
    "file.not_found": "the case file does not exist",
    "file.is_folder": "a folder was given where a case file was expected",
    "file.unreadable": "the file cannot be read (permissions, I/O error)",
    "file.too_large": "the file or NDJSON line is larger than priorauth accepts",
    "file.encoding": "the file is not UTF-8 text",
    "file.empty": "the file holds no case",
    "yaml.syntax": "the YAML cannot be parsed",
    "yaml.alias": "the YAML uses an alias (*name), which priorauth refuses",
    "yaml.duplicate_key": "a key appears twice in one mapping",
    "json.syntax": "the JSON cannot be parsed (or holds NaN, or a duplicate key)",
    "document.too_deep": "the document nests deeper than priorauth accepts",
    "document.not_mapping": "the document is not a mapping of fields",
    "case.too_many_problems": "more problems than are listed; fix the listed ones first",
    "input.one_case": "the command takes one case, the input holds several (use validate or "
                      "batch)",
    # pydantic error types (see PYDANTIC_CODES)
    "field.missing": "a required field is missing",
    "field.unknown": "a field priorauth does not know (often a misspelling)",
    "field.required": "a field required by another field's value is missing",
    "type.text": "the value must be text",
    "type.integer": "the value must be a whole number",
    "type.number": "the value must be a number",
    "type.boolean": "the value must be true or false",
    "type.group": "the value must be a group of fields",
    "type.list": "the value must be a list",
    "type.key": "a field name is not text",
    "text.broken_character": "the text holds a broken character (lone surrogate)",
    "text.invisible_character": "the text holds an invisible, control or text-direction character",
    "text.too_long": "the text is longer than allowed",
    "number.not_finite": "the number is infinite or not a number",
    "number.range": "the number is outside the allowed range",
    "value.empty": "the value is empty",
    "value.choice": "the value is not one of the allowed choices",
    "value.invalid": "the value is not valid (see the message)",
    "list.too_short": "the list has too few items",
    "list.too_long": "the list has too many items",
    # priorauth's own validators
    "date.format": "a date must be written YYYY-MM-DD",
    "date.range": "the date is outside 1900-2199",
    "date.after_letter": "the date is after the letter date",
    "date.before_birth": "the date is before the patient's date of birth",
    "date.order": "an end date is before its start date",
    "npi.format": "an NPI is 10 digits starting with 1 or 2",
    "npi.checksum": "the NPI fails its check digit",
    "icd10.format": "not shaped like an ICD-10-CM code",
    "icd10.unknown": "the ICD-10-CM code is not in the bundled code table",
    "icd10.not_billable": "the ICD-10-CM code is a header code, not billable",
    "hcpcs.format": "not shaped like a HCPCS Level II code",
    "hcpcs.refused": "a HCPCS code priorauth refuses for this request",
    "cpt.format": "not shaped like a CPT code",
    "ndc.format": "not an 11-digit NDC in 5-4-2 form",
    "case_id.format": "a case id is 1-64 letters, digits, '.', '_' or '-'",
    "phone.format": "not shaped like a phone or fax number",
    "state.format": "not a two-letter state code",
    "zip.format": "not a ZIP or ZIP+4 code",
    "evidence.unknown": "the evidence id is not in the evidence library",
    "diagnoses.primary": "several diagnoses but not exactly one marked primary",
    "burden.inconsistent": "migraine days exceed headache days",
    "case.too_much_text": "the case holds more text than a letter may print",
    "case.starter": "a field still holds the placeholder of an untouched priorauth init starter",
    # warnings (the case is valid)
    "warning.description_differs": "a diagnosis description differs from the official one",
    "warning.therapy_class": "a therapy's class is unknown or disagrees with the catalogue",
    "warning.glyph": "a character no letter font can draw",
    "warning.therapy_role": "a therapy recorded in a role its label lacks (not counted there)",
    "warning.misspelling": "a known chart misspelling of a drug name (suggested, not corrected)",
    "warning.policy_generic": "the checklist cites a generic bundled policy, not the payer's own",
    "warning.policy_file": "a policy file names no payer policy, or another one",
    "warning.policy_stale": "policy checked against the payer's over 12 months before the letter",
    "warning.icd_fiscal_year": "the letter date is past the bundled ICD-10-CM index's fiscal year",
    # the checklist
    "criterion.met": "the policy criterion is met",
    "criterion.not_met": "the policy criterion is not met",
    "criterion.unknown": "the record does not say enough to decide the criterion",
    "policy.none": "no bundled policy applies to the diagnoses; name one with --policy",
    "policy.unknown": "the policy named with --policy is unknown or malformed",
    # FHIR import
    "fhir.todo": "a field the import could not fill; a human must",
    "fhir.invalid": "a FHIR value that could not be used",
}
"""Every code priorauth emits, with what it means."""

PYDANTIC_CODES: dict[str, str] = {
    "missing": "field.missing",
    "extra_forbidden": "field.unknown",
    "string_type": "type.text",
    "string_sub_type": "type.text",
    "string_unicode": "text.broken_character",
    "invalid_key": "type.key",
    "int_type": "type.integer",
    "int_parsing": "type.integer",
    "int_parsing_size": "type.integer",
    "int_from_float": "type.integer",
    "float_type": "type.number",
    "float_parsing": "type.number",
    "finite_number": "number.not_finite",
    "bool_type": "type.boolean",
    "bool_parsing": "type.boolean",
    "enum": "value.choice",
    "literal_error": "value.choice",
    "greater_than": "number.range",
    "greater_than_equal": "number.range",
    "less_than": "number.range",
    "less_than_equal": "number.range",
    "too_short": "list.too_short",
    "string_too_short": "value.empty",
    "too_long": "list.too_long",
    "string_too_long": "text.too_long",
    "model_type": "type.group",
    "model_attributes_type": "type.group",
    "dict_type": "type.group",
    "list_type": "type.list",
    "tuple_type": "type.list",
}
"""pydantic error ``type`` → our code. Types not listed (and plain ``value_error``) are
``value.invalid``; date parsing types (``date_*``, ``datetime_*``) are ``date.format``."""


def code_for_pydantic(error_type: str, message_kind: str = "") -> str:
    """The code for one pydantic error type (never chosen from the message text)."""
    if error_type.startswith(("date", "datetime")):
        return "date.format"
    if error_type in ("float_type", "float_parsing") and message_kind == "not_finite":
        return "number.not_finite"
    if error_type == "too_short" and message_kind == "text":
        return "value.empty"
    return PYDANTIC_CODES.get(error_type, "value.invalid")
