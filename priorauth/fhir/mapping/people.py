"""FHIR -> case: coverage, patient, payer, provider and facility."""

from __future__ import annotations

from typing import Any

from priorauth.fhir.mapping.base import MapperBase
from priorauth.fhir.r4 import (
    ClaimR,
    ContactPoint,
    CoverageR,
    FAddress,
    Identifier,
    LocationR,
    MedicationRequestR,
    OrganizationR,
    PractitionerR,
    PractitionerRoleR,
    Reference,
    Resource,
    key_of,
)
from priorauth.fhir.report import (
    Invalid,
)
from priorauth.fhir.terminology import (
    NPI_SYSTEM,
)
from priorauth.fhir.values import (
    _address,
    _date,
    _npi,
    _person_name,
    _telecom,
)


class PeopleMapping(MapperBase):
    """Maps coverage, patient, payer, provider and facility."""

    # Coverage, Patient, payer
    def _coverage(self, claim: ClaimR | None) -> CoverageR | None:
        if claim is not None:
            for index, insurance in enumerate(claim.insurance):
                if insurance.focal or len(claim.insurance) == 1:
                    found = self.deref(insurance.coverage, claim, f"insurance[{index}].coverage",
                                       ("Coverage",))
                    if isinstance(found, CoverageR):
                        return found
        active = [c for c in self.mine.get("Coverage", [])
                  if isinstance(c, CoverageR) and c.status in (None, "active")]
        if len(active) == 1:
            return active[0]
        if len(active) > 1:
            self.report.notes.append("several active Coverages (" + ", ".join(
                key_of(c) for c in active) + ") and no Claim saying which: none chosen")
        return None

    def _patient(self, coverage: CoverageR | None) -> dict[str, Any]:
        p = self.patient
        out: dict[str, Any] = {}
        name = _person_name(p.name)
        index = p.name.index(name) if name else 0
        if name and name.given:
            out["given_name"] = self.fill("patient.given_name", " ".join(name.given), p,
                                          f"name[{index}].given")
        else:
            out["given_name"] = self.todo("patient.given_name", "Patient has no given name",
                                          "text")
        if name and name.family:
            out["family_name"] = self.fill("patient.family_name", name.family, p,
                                           f"name[{index}].family")
        else:
            out["family_name"] = self.todo("patient.family_name", "Patient has no family name",
                                           "text")
        born, problem = _date(p.birthDate)
        if born is not None:
            out["date_of_birth"] = self.fill("patient.date_of_birth", born, p, "birthDate")
        else:
            if problem:
                self.report.invalid.append(Invalid("patient.date_of_birth",
                                                   f"{self.pkey} birthDate", problem))
            out["date_of_birth"] = self.todo("patient.date_of_birth",
                                             f"Patient.birthDate {problem or 'is absent'}")
        if p.gender in ("female", "male", "other", "unknown"):
            out["sex"] = self.fill("patient.sex", p.gender, p, "gender")
        member = None
        if coverage is not None and coverage.subscriberId:
            member = self.fill("patient.member_id", coverage.subscriberId, coverage,
                               "subscriberId")
        else:
            for holder in ([coverage] if coverage else []) + [p]:
                idents: list[Identifier] = getattr(holder, "identifier", [])
                for i, ident in enumerate(idents):
                    if ident.type and any(c.code == "MB" for c in ident.type.coding) and \
                            ident.value:
                        member = self.fill("patient.member_id", ident.value, holder,
                                           f"identifier[{i}] (type MB)")
                        break
                if member:
                    break
        out["member_id"] = member if member else self.todo(
            "patient.member_id", "no Coverage.subscriberId or member-number (MB) identifier",
            "text")
        group = None
        if coverage is not None:
            for i, cls in enumerate(coverage.class_):
                if cls.type and any(c.code == "group" for c in cls.type.coding) and cls.value:
                    group = self.fill("patient.group_number", cls.value, coverage,
                                      f"class[{i}] (group)")
                    break
        if group:
            out["group_number"] = group
        else:
            self.need("patient.group_number", "no Coverage.class of type group")
        return out

    def _payer(self, coverage: CoverageR | None, claim: ClaimR | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        org: Resource | None = None
        element = ""
        if coverage is not None and coverage.payor:
            org = self.deref(coverage.payor[0], coverage, "payor[0]")
            holder: Resource = coverage
            element = "payor[0]"
        if org is None and claim is not None and claim.insurer is not None:
            org = self.deref(claim.insurer, claim, "insurer")
            holder, element = claim, "insurer"
        if isinstance(org, OrganizationR) and org.name:
            out["name"] = self.fill("payer.name", org.name, org, f"name (via {key_of(holder)} "
                                                                 f"{element})")
            phone, fax = _telecom(org.telecom, "phone"), _telecom(org.telecom, "fax")
            if phone:
                out["phone"] = self.fill("payer.phone", phone, org, "telecom (phone)")
            if fax:
                out["fax"] = self.fill("payer.fax", fax, org, "telecom (fax)")
            address, _ = _address(org.address[0] if org.address else None)
            if address:
                out["address"] = self.fill("payer.address", address, org, "address[0]")
        else:
            reason = ("the payer is not an Organization" if org is not None
                      else "no Coverage.payor or Claim.insurer Organization in the input")
            out["name"] = self.todo("payer.name", reason, "text")
        if coverage is not None:
            for i, cls in enumerate(coverage.class_):
                if cls.type and any(c.code == "plan" for c in cls.type.coding) and \
                        (cls.name or cls.value):
                    out["plan"] = self.fill("payer.plan", cls.name or cls.value, coverage,
                                            f"class[{i}] (plan)")
                    break
        return out

    # provider, facility
    def _provider(self, claim: ClaimR | None,
                  request: MedicationRequestR | None) -> dict[str, Any]:
        candidates: list[tuple[Reference, Resource, str]] = []
        if request is not None and request.requester is not None:
            candidates.append((request.requester, request, "requester"))
        if claim is not None:
            if claim.provider is not None:
                candidates.append((claim.provider, claim, "provider"))
            for team in sorted(claim.careTeam, key=lambda t: t.sequence or 0):
                if team.provider is not None:
                    candidates.append((team.provider, claim, f"careTeam[{team.sequence}]"))
        person: PractitionerR | None = None
        role: PractitionerRoleR | None = None
        practice: OrganizationR | None = None
        via = ""
        for ref, holder, element in candidates:
            found = self.deref(ref, holder, element)
            if isinstance(found, PractitionerRoleR) and role is None:
                role = found
                via = f"{key_of(holder)} {element}"
                who = self.deref(found.practitioner, found, "practitioner", ("Practitioner",))
                if isinstance(who, PractitionerR):
                    person = who
            elif isinstance(found, PractitionerR) and person is None:
                person, via = found, f"{key_of(holder)} {element}"
            elif isinstance(found, OrganizationR) and practice is None:
                practice = found
            if person is not None and (role is not None or practice is not None):
                break
        if person is not None and role is None:
            for candidate in self.store.of_type("PractitionerRole"):
                if isinstance(candidate, PractitionerRoleR) and candidate.practitioner and \
                        self.store.resolve(candidate.practitioner, candidate) is person:
                    role = candidate
                    break
        if role is not None and role.organization is not None:
            org = self.deref(role.organization, role, "organization", ("Organization",))
            if isinstance(org, OrganizationR):
                practice = org
        out: dict[str, Any] = {}
        if person is None:
            reason = ("no Practitioner linked from the Claim or the ketamine order"
                      if not candidates else "the ordering Practitioner is not in the input")
            for part in ("name", "credentials", "npi", "practice"):
                out[part] = self.todo(f"provider.{part}", reason, "text")
            out["address"] = self.todo("provider.address", reason)
            out["phone"] = self.todo("provider.phone", reason, "text")
            return out
        self.report.notes.append(f"provider: {key_of(person)} (via {via})")
        human = _person_name(person.name)
        if human and (human.given or human.family):
            out["name"] = self.fill("provider.name", " ".join([*human.given, human.family or ""])
                                    .strip(), person, "name")
        else:
            out["name"] = self.todo("provider.name", f"{key_of(person)} has no name", "text")
        credentials: list[str] = []
        for qualification in person.qualification:
            if qualification.code is None:
                continue
            codes = [c.code for c in qualification.code.coding if c.code]
            text = qualification.code.text or (codes[0] if codes else None)
            if text:
                credentials.append(text)
        out["credentials"] = (self.fill("provider.credentials", ", ".join(credentials), person,
                                        "qualification") if credentials else
                              self.todo("provider.credentials",
                                        f"{key_of(person)} has no qualification", "text"))
        if role is not None and role.specialty and role.specialty[0].label():
            out["specialty"] = self.fill("provider.specialty", role.specialty[0].label(), role,
                                         "specialty[0]")
        npi = _npi(person.identifier)
        if npi is not None:
            out["npi"] = self.fill("provider.npi", npi.value, person, "identifier (us-npi)")
        else:
            out["npi"] = self.todo("provider.npi", f"{key_of(person)} has no identifier with "
                                   f"system {NPI_SYSTEM}", "text")
        if practice is not None and practice.name:
            out["practice"] = self.fill("provider.practice", practice.name, practice, "name")
        else:
            out["practice"] = self.todo("provider.practice", "no PractitionerRole.organization "
                                        "or Claim.provider Organization", "text")
        address, phone, fax, origin = None, None, None, {}
        sources: list[tuple[Resource, list[FAddress], list[ContactPoint]]] = []
        if role is not None:
            for loc_ref in role.location:
                loc = self.deref(loc_ref, role, "location", ("Location",))
                if isinstance(loc, LocationR):
                    sources.append((loc, [loc.address] if loc.address else [], loc.telecom))
            sources.append((role, [], role.telecom))
        if practice is not None:
            sources.append((practice, practice.address, practice.telecom))
        sources.append((person, person.address, person.telecom))
        for holder, addresses, telecom in sources:
            if address is None and addresses:
                address, _ = _address(addresses[0])
                origin["address"] = holder
            if phone is None and _telecom(telecom, "phone"):
                phone = _telecom(telecom, "phone")
                origin["phone"] = holder
            if fax is None and _telecom(telecom, "fax"):
                fax = _telecom(telecom, "fax")
                origin["fax"] = holder
        out["address"] = (self.fill("provider.address", address, origin["address"], "address")
                          if address else self.todo("provider.address",
                                                    "no complete address on the PractitionerRole "
                                                    "location, practice or Practitioner"))
        out["phone"] = (self.fill("provider.phone", phone, origin["phone"], "telecom (phone)")
                        if phone else self.todo("provider.phone", "no phone number", "text"))
        if fax:
            out["fax"] = self.fill("provider.fax", fax, origin["fax"], "telecom (fax)")
        return out

    def _facility(self, claim: ClaimR | None) -> dict[str, Any] | None:
        refs: list[tuple[Reference, str]] = []
        if claim is not None:
            if claim.facility is not None:
                refs.append((claim.facility, "facility"))
            refs += [(item.locationReference, f"item[{i}].locationReference")
                     for i, item in enumerate(claim.item) if item.locationReference]
        for ref, element in refs:
            assert claim is not None
            loc = self.deref(ref, claim, element)
            if not isinstance(loc, (LocationR, OrganizationR)) or not loc.name:
                continue
            out: dict[str, Any] = {"name": self.fill("facility.name", loc.name, loc, "name")}
            npi = _npi(loc.identifier)
            if npi is None and isinstance(loc, LocationR) and loc.managingOrganization:
                org = self.deref(loc.managingOrganization, loc, "managingOrganization")
                if isinstance(org, OrganizationR):
                    npi = _npi(org.identifier)
                    if npi is not None:
                        out["npi"] = self.fill("facility.npi", npi.value, org,
                                               "identifier (us-npi)")
            elif npi is not None:
                out["npi"] = self.fill("facility.npi", npi.value, loc, "identifier (us-npi)")
            if isinstance(loc, LocationR) and loc.type and loc.type[0].text:
                out["setting"] = self.fill("facility.setting", loc.type[0].text, loc,
                                           "type[0].text")
            raw_address = loc.address if isinstance(loc, LocationR) else \
                (loc.address[0] if loc.address else None)
            address, _ = _address(raw_address)
            if address:
                out["address"] = self.fill("facility.address", address, loc, "address")
            return out
        self.need("facility", "no Claim.facility / item.locationReference Location")
        return None
