"""The therapy catalogue: names -> classes, class inference and disagreement warnings."""

from __future__ import annotations

import datetime as dt

import pytest

from priorauth.case.model import PriorTherapy, Role
from priorauth.errors import ReferenceDataError
from priorauth.reference.catalogue import (
    build_catalogue,
    catalogue,
    lookup,
    lookup_class,
    resolve,
)


@pytest.mark.parametrize(
    ("name", "generic", "class_id"),
    [
        ("propranolol", "propranolol", "beta_blocker"),
        ("Propranolol ER 80 mg", "propranolol", "beta_blocker"),
        ("  PROPRANOLOL   hydrochloride ", "propranolol", "beta_blocker"),
        ("Inderal LA", "propranolol", "beta_blocker"),
        ("Toprol-XL", "metoprolol", "beta_blocker"),
        ("Topamax", "topiramate", "antiepileptic"),
        ("Depakote ER 500 mg", "divalproex", "antiepileptic"),
        ("amitriptyline 25 mg nightly", "amitriptyline", "tca"),
        ("Effexor XR", "venlafaxine", "snri"),
        ("candesartan", "candesartan", "arb_acei"),
        ("Botox", "onabotulinumtoxinA", "onabotulinumtoxina"),
        ("onabotulinumtoxinA (Botox) 155 units", "onabotulinumtoxinA", "onabotulinumtoxina"),
        ("Aimovig", "erenumab", "cgrp_mab"),
        ("erenumab-aooe", "erenumab", "cgrp_mab"),
        ("Vyepti", "eptinezumab", "cgrp_mab"),
        ("Qulipta", "atogepant", "gepant"),
        ("Nurtec ODT", "rimegepant", "gepant"),
        ("Ubrelvy", "ubrogepant", "gepant"),
        ("Reyvow", "lasmiditan", "ditan"),
        ("Imitrex", "sumatriptan", "triptan"),
        ("Maxalt-MLT 10 mg", "rizatriptan", "triptan"),
        ("D.H.E. 45", "dihydroergotamine", "ergot"),
        ("Reglan", "metoclopramide", "antiemetic"),
        ("naproxen sodium", "naproxen", "nsaid"),
        ("greater occipital nerve block", "greater occipital nerve block",
         "peripheral_nerve_block"),
        ("SPG block", "sphenopalatine ganglion block", "spg_block"),
        ("gammaCore", "non-invasive vagus nerve stimulation", "neuromodulation"),
        ("Lyrica", "pregabalin", "gabapentinoid"),
        ("gabapentin 300 mg TID", "gabapentin", "gabapentinoid"),
        ("stellate ganglion block", "stellate ganglion block", "sympathetic_block"),
        ("spinal cord stimulator trial", "spinal cord stimulator trial", "spinal_cord_stimulation"),
        ("physical therapy", "physical therapy", "physical_therapy"),
    ],
)
def test_lookup_generic_and_brand(name: str, generic: str, class_id: str) -> None:
    entry = lookup(name)
    assert entry is not None, name
    assert entry.name == generic
    assert entry.class_id == class_id


def test_lookup_unknown_and_near_misses() -> None:
    assert lookup("unobtainium") is None
    assert lookup("") is None
    assert lookup("lidocaine patch") is None  # not an IV lidocaine infusion


def test_entry_fields() -> None:
    entry = lookup("propranolol")
    assert entry is not None
    assert entry.class_label == "Beta-blocker"
    assert entry.role is Role.preventive
    assert entry.ehf_preventive_class == "beta_blockers"
    rimegepant = lookup("rimegepant")
    assert rimegepant is not None
    assert rimegepant.roles == {Role.acute, Role.preventive}
    verapamil = lookup("verapamil")
    assert verapamil is not None and verapamil.ehf_preventive_class is None
    sumatriptan = lookup("sumatriptan")
    assert sumatriptan is not None and sumatriptan.ehf_preventive_class is None


def test_tca_and_snri_are_one_ehf_class() -> None:
    amitriptyline, venlafaxine = lookup("amitriptyline"), lookup("venlafaxine")
    assert amitriptyline is not None and venlafaxine is not None
    assert amitriptyline.class_id != venlafaxine.class_id
    assert amitriptyline.ehf_preventive_class == venlafaxine.ehf_preventive_class


@pytest.mark.parametrize(
    ("text", "class_id"),
    [("tricyclic antidepressant", "tca"), ("SNRI", "snri"), ("ARB", "arb_acei"),
     ("Beta blockers", "beta_blocker"), ("CGRP monoclonal antibody", "cgrp_mab"),
     ("anticonvulsant", "antiepileptic"), ("peripheral nerve block", "peripheral_nerve_block")],
)
def test_lookup_class(text: str, class_id: str) -> None:
    found = lookup_class(text)
    assert found is not None and found.id == class_id


def _therapy(name: str, class_: str | None = None) -> PriorTherapy:
    data = {"name": name, "role": "preventive", "start": dt.date(2020, 1, 1),
            "end": dt.date(2020, 6, 1), "outcome": "inadequate_response"}
    if class_ is not None:
        data["class"] = class_
    return PriorTherapy.model_validate(data)


def test_class_inferred_when_omitted() -> None:
    resolution = resolve(_therapy("Topamax"))
    assert (resolution.class_id, resolution.how, resolution.warning) == (
        "antiepileptic", "catalogue", None)


def test_wrong_class_is_a_warning_and_the_catalogue_wins() -> None:
    resolution = resolve(_therapy("propranolol", "antiepileptic"))
    assert resolution.class_id == "beta_blocker"
    assert resolution.warning is not None
    assert "class 'antiepileptic' disagrees" in resolution.warning
    assert "propranolol is a Beta-blocker" in resolution.warning


def test_unknown_drug_uses_recorded_class() -> None:
    resolution = resolve(_therapy("Investigational drug X", "beta-blocker"))
    assert (resolution.class_id, resolution.how, resolution.warning) == (
        "beta_blocker", "recorded", None)


def test_unknown_drug_and_class() -> None:
    resolution = resolve(_therapy("mystery pill"))
    assert resolution.class_id is None
    assert resolution.warning and "not in the therapy catalogue" in resolution.warning


def test_every_class_has_a_known_source() -> None:
    cat = catalogue()
    for therapy_class in cat.classes.values():
        assert therapy_class.sources
        assert all(source in cat.sources for source in therapy_class.sources)


def test_malformed_catalogue_is_a_policy_error() -> None:
    with pytest.raises(ReferenceDataError, match="unknown role"):
        build_catalogue({"sources": {"x": "y"},
                         "classes": {"c": {"label": "C", "role": "nope", "source": "x"}}})
    with pytest.raises(ReferenceDataError, match="needs a source"):
        build_catalogue({"classes": {"c": {"label": "C", "role": "acute", "source": "missing"}}})
