"""The evidence library: only checked citations, honest designs, ids validated in cases."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from priorauth.case.parse import case_from_data
from priorauth.errors import CaseInvalid, PolicyError, ReferenceDataError
from priorauth.reference import evidence

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "chronic-migraine-with-aura.yaml"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "clinical-reference.md"


def test_library_has_the_checked_citations() -> None:
    assert set(evidence.library()) == {
        "patil-2012", "pomeroy-2017", "schwenk-2018", "cohen-2018", "lauritsen-2016",
        "sacco-2020", "ailani-2021", "etchison-2018", "zitek-2018", "afridi-2013"}


def test_pomeroy_has_no_unverified_volume_or_pages() -> None:
    entry = evidence.get("pomeroy-2017")
    assert entry is not None
    assert entry.volume is None and entry.pages is None
    assert entry.citation == ("Pomeroy JL, Marmura MJ, Nahas SJ, Viscusi ER. Ketamine infusions "
                              "for treatment refractory headache. Headache. 2017. "
                              "doi:10.1111/head.13013. PMID 28025837.")


def test_citation_format() -> None:
    entry = evidence.get("schwenk-2018")
    assert entry is not None
    assert entry.citation == (
        "Schwenk ES, Dayan AC, Rangavajjula A, et al. Ketamine for refractory headache: a "
        "retrospective analysis. Reg Anesth Pain Med. 2018;43(8):875-879. "
        "doi:10.1097/AAP.0000000000000827. PMID 29923953.")
    lauritsen = evidence.get("lauritsen-2016")
    assert lauritsen is not None and "2016;17:106." in lauritsen.citation


def test_designs_are_honest() -> None:
    etchison = evidence.get("etchison-2018")
    assert etchison is not None and etchison.negative
    assert "negative" in etchison.design.lower()
    assert "no difference" in etchison.summary
    for entry_id in ("patil-2012", "pomeroy-2017", "schwenk-2018"):
        entry = evidence.get(entry_id)
        assert entry is not None and entry.design.startswith("Retrospective")
    afridi = evidence.get("afridi-2013")
    assert afridi is not None and "intranasal" in afridi.design.lower()


@pytest.mark.skipif(not REFERENCE.exists(), reason="shared clinical reference not available")
def test_every_identifier_appears_in_the_clinical_reference() -> None:
    text = REFERENCE.read_text(encoding="utf-8")
    for entry in evidence.library().values():
        assert entry.id in text
        for identifier in (entry.doi, entry.pmid, entry.pmcid):
            if identifier:
                assert identifier in text, (entry.id, identifier)
        if entry.pages:
            assert re.search(rf"{entry.year};{entry.volume}\({entry.issue}\):{entry.pages}",
                             text), entry.id


def test_case_evidence_ids_are_validated() -> None:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["evidence"] = ["schwenk-2018", "schwenk2018", "made-up-2030"]
    with pytest.raises(CaseInvalid) as info:
        case_from_data(data)
    problems = {p.path: p.message for p in info.value.problems}
    assert set(problems) == {"evidence[1]", "evidence[2]"}
    assert "did you mean 'schwenk-2018'?" in problems["evidence[1]"]
    assert "not in the evidence library" in problems["evidence[2]"]


def test_malformed_library_is_a_policy_error() -> None:
    with pytest.raises(ReferenceDataError, match="missing"):
        evidence.build_library({"x-2000": {"title": "T"}})
    with pytest.raises(PolicyError, match="not in the evidence library"):
        evidence.entries(["nope-1900"])
