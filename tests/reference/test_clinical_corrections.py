"""Issue 11.2: catalogue and evidence corrections, each against its public source."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from priorauth.reference import evidence
from priorauth.reference.catalogue import lookup


def test_ondansetron_is_a_5ht3_antagonist() -> None:
    entry = lookup("Zofran")
    assert entry is not None and entry.name == "ondansetron"
    assert "5-HT3" in entry.class_label and "dopamine" not in entry.class_label


def test_horizant_is_gabapentin_enacarbil() -> None:
    entry = lookup("Horizant")
    assert entry is not None and entry.name == "gabapentin enacarbil"
    gabapentin = lookup("gabapentin")
    assert gabapentin is not None and "Horizant" not in gabapentin.brands


def test_elavil_is_recognised_but_historical() -> None:
    entry = lookup("Elavil")
    assert entry is not None and entry.name == "amitriptyline"
    assert "Elavil" not in entry.brands and "Elavil" in entry.historical_brands


def test_acute_only_gepants_carry_no_ehf_class() -> None:
    for name in ("ubrogepant", "zavegepant"):
        entry = lookup(name)
        assert entry is not None and entry.ehf_preventive_class is None, name
    for name in ("atogepant", "rimegepant"):
        entry = lookup(name)
        assert entry is not None and entry.ehf_preventive_class == "cgrp_pathway", name


def test_quarterly_dosing_is_recorded_for_cgrp_mabs() -> None:
    vyepti = lookup("Vyepti")
    ajovy = lookup("Ajovy")
    assert vyepti is not None and vyepti.dosing == {"quarterly"}
    assert ajovy is not None and ajovy.dosing == {"monthly", "quarterly"}


def test_zitek_2018_is_a_negative_rct() -> None:
    entry = evidence.get("zitek-2018")
    assert entry is not None and entry.negative
    assert entry.doi == "10.1016/j.annemergmed.2017.08.063"
    assert "2018;71(3):369-377.e1" in entry.citation
    assert "prochlorperazine" in entry.summary and "54" in (entry.size or "")


def test_inpatient_series_say_so() -> None:
    for entry_id in ("pomeroy-2017", "schwenk-2018", "lauritsen-2016"):
        entry = evidence.get(entry_id)
        assert entry is not None
        assert "inpatient, continuous, multi-day" in entry.summary.casefold(), entry_id


def test_cohen_graded_findings_and_ailani_is_not_a_guideline() -> None:
    cohen = evidence.get("cohen-2018")
    assert cohen is not None
    assert "moderate evidence for CRPS" in cohen.summary
    assert "weak or no evidence for migraine" in cohen.summary
    ailani = evidence.get("ailani-2021")
    assert ailani is not None
    assert ailani.design == "Consensus statement (not a guideline)"


def test_icd_index_fiscal_year_note() -> None:
    import datetime as dt

    from priorauth.reference.icd import fiscal_year_end, fiscal_year_note

    assert fiscal_year_end() == dt.date(2026, 9, 30)
    assert fiscal_year_note(dt.date(2026, 9, 30)) is None
    note = fiscal_year_note(dt.date(2026, 10, 1))
    assert note is not None and "FY2027" in note and "FY2026" in note


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_display_name_and_suggest_never_change_what_was_typed(name: str) -> None:
    """Issue 11.5: the letter starts with the name exactly as typed; a suggestion is a generic
    or brand from the catalogue, or nothing."""
    from priorauth.reference.catalogue import display_name, lookup, suggest

    assert display_name(name).startswith(name)
    guess = suggest(name)
    assert guess is None or lookup(guess) is not None
