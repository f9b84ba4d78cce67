"""The code tables between FHIR R4 and the case-file vocabularies (pure Python, no Django).

docs/fhir.md shows these tables; tests/interop/test_codes.py checks that the page and this module agree.

Every record Candidacy exports carries its own code (a ``urn:candidacy:codesystem:...`` coding) beside
the standard one where a standard code exists, so an exported bundle imports back without loss.
Records from another system are mapped by the standard codes listed here and nothing else: a code
that is not in these tables is listed back to the user, never guessed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from clinical import vocab

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"


def local(name: str) -> str:
    """Candidacy's own code system for one vocabulary (a URN: no address to resolve)."""
    return f"urn:candidacy:codesystem:{name}"


PATIENT_IDENTIFIER = "urn:candidacy:patient-identifier"  # + ":" + site code
# Candidacy's record kinds without a standard code: one local code system each.
SYS_OBSERVATION = local("observation")
SYS_MANIFESTATION = local("manifestation")
SYS_CONDITION = local("condition")
SYS_DRUG = local("drug")
SYS_DOSE_UNIT = local("dose-unit")
SYS_STOP_REASON = local("stop-reason")
SYS_RECORD = local("record")  # the panels: assessment, damage index, classification, ANA titre, SLE attestation
SYS_SLEDAI = local("sledai2k")
SYS_BILAG = local("bilag2004")
SYS_SDI = local("slicc-acr-damage")
SYS_EULAR = local("eular-acr-2019")
SYS_BIOPSY_CLASS = local("isn-rps-class")
SYS_PATHWAY = local("pathway")
SYS_CAUTION = local("caution")

# The record panels (Observation.code in SYS_RECORD).
ASSESSMENT = "sle-activity-assessment"  # components: SLEDAI-2K descriptors, PGA, BILAG, window
DAMAGE = "slicc-acr-damage-index"  # components: item → count
CLASSIFICATION = "eular-acr-2019-criteria"  # components: criteria present (the panel present = assessed)
ANA_TITRE = "ana-titre-highest"  # valueInteger: reciprocal of the highest titre ever
SLE_ATTESTED = "sle-attested"  # extension on the SLE Condition: a specialist attested the diagnosis
RENAL_BIOPSY = "renal-biopsy"  # Procedure.code; outcome: the ISN/RPS class
WINDOW = "window-days"
PGA = "pga"
EXT_SLE_ATTESTED = "urn:candidacy:extension:sle-attested"

# Body weight (the patient's current weight: the latest-dated one counts).
WEIGHT_LOINC = "29463-7"
WEIGHT_UNITS: dict[str, Decimal] = {"kg": Decimal(1), "g": Decimal("0.001"), "[lb_av]": Decimal("0.45359237")}

# The SLE diagnosis itself (never imported as an attestation unless Candidacy's extension says so).
SLE_CODES: tuple[tuple[str, str], ...] = ((SNOMED, "55464009"), (ICD10, "M32"), (ICD10CM, "M32.9"))


class UnitRule(NamedTuple):
    ucum: str  # the UCUM code of the case file's canonical unit
    other: dict[str, Decimal]  # other UCUM codes accepted, and the factor into the canonical unit


# Observation codes: LOINC (from clinical.vocab) and the UCUM units accepted, with conversions.
OBSERVATION_UNITS: dict[str, UnitRule] = {
    "egfr": UnitRule("mL/min/{1.73_m2}", {"mL/min/1.73.m2": Decimal(1)}),
    "creatinine": UnitRule("mg/dL", {"umol/L": Decimal(1) / Decimal("88.42")}),
    "upcr": UnitRule("g/g", {"mg/mg": Decimal(1), "mg/g": Decimal("0.001")}),
    "urine_protein_24h": UnitRule(
        "g/(24.h)", {"g/d": Decimal(1), "mg/(24.h)": Decimal("0.001"), "mg/d": Decimal("0.001")}
    ),
    "c3": UnitRule("mg/dL", {"g/L": Decimal(100)}),
    "c4": UnitRule("mg/dL", {"g/L": Decimal(100)}),
    "anti_dsdna": UnitRule("[IU]/mL", {"U/mL": Decimal(1)}),
    "hemoglobin": UnitRule("g/dL", {"g/L": Decimal("0.1")}),
    "wbc": UnitRule("10*9/L", {"10*3/uL": Decimal(1), "/nL": Decimal(1)}),
    "neutrophils": UnitRule("10*9/L", {"10*3/uL": Decimal(1), "/nL": Decimal(1)}),
    "lymphocytes": UnitRule("10*9/L", {"10*3/uL": Decimal(1), "/nL": Decimal(1)}),
    "platelets": UnitRule("10*9/L", {"10*3/uL": Decimal(1), "/nL": Decimal(1)}),
    "alt": UnitRule("U/L", {"[IU]/L": Decimal(1)}),
    "ast": UnitRule("U/L", {"[IU]/L": Decimal(1)}),
    "bilirubin": UnitRule("mg/dL", {"umol/L": Decimal(1) / Decimal("17.1")}),
    "lvef": UnitRule("%", {}),
    "dlco": UnitRule("%", {}),
    "fev1": UnitRule("%", {}),
    "ecog": UnitRule("{score}", {"1": Decimal(1)}),
}
# Converted values are rounded to the 4 decimal places the record stores (docs/fhir.md).
CONVERTED_PLACES = 4


def observation_loinc() -> dict[str, str]:
    """LOINC → observation code, for the codes that have one (clinical.vocab)."""
    return {entry.loinc: code for code, entry in vocab.OBSERVATIONS.items() if entry.loinc}


# Conditions of the case file (safety statuses): standard codes, exported beside the local one.
CONDITION_STANDARD: dict[str, tuple[tuple[str, str], ...]] = {
    "pregnancy": ((SNOMED, "77386006"),),
    "breastfeeding": (),
    "hiv": ((SNOMED, "86406008"), (ICD10, "B24")),
    "hbv": ((SNOMED, "66071002"), (ICD10, "B18.1")),
    "hcv": ((SNOMED, "50711007"), (ICD10, "B18.2")),
    "tuberculosis": ((SNOMED, "56717001"),),
    "active_infection": ((SNOMED, "40733004"),),
    "malignancy": ((SNOMED, "363346000"),),
    "dialysis": ((ICD10, "Z99.2"),),
    "renal_transplant": ((ICD10, "Z94.0"),),
    "antiphospholipid_syndrome": ((ICD10CM, "D68.61"),),
    "adherence_concern": (),
    "hcq_contraindicated": (),
}
# Organ manifestations: standard codes (a Condition with one of these is a manifestation entry).
MANIFESTATION_STANDARD: dict[str, tuple[tuple[str, str], ...]] = {
    "lupus_nephritis": ((ICD10CM, "M32.14"),),
    "neuropsychiatric": (),
    "cardiopulmonary": (),
    "systemic_vasculitis": (),
    "severe_cytopenia": (),
    "catastrophic_aps": (),
    "other": (),
}
# A renal biopsy (Procedure): the ISN/RPS class is its outcome, in Candidacy's code system.
BIOPSY_STANDARD: tuple[tuple[str, str], ...] = ()

# Drugs: RxNorm ingredients and ATC codes, mapped one to one only where the code names one catalogue
# drug. Cyclophosphamide needs the route (intravenous or oral) to tell its two catalogue entries apart.
DRUG_STANDARD: dict[str, tuple[tuple[str, str], ...]] = {
    "hydroxychloroquine": ((RXNORM, "5521"), (ATC, "P01BA02")),
    "prednisone": ((RXNORM, "8640"), (ATC, "H02AB07")),
    "prednisolone": ((RXNORM, "8638"), (ATC, "H02AB06")),
    "methylprednisolone": ((RXNORM, "6902"), (ATC, "H02AB04")),
    "mycophenolate_mofetil": ((RXNORM, "68149"),),
    "azathioprine": ((RXNORM, "1256"), (ATC, "L04AX01")),
    "methotrexate": ((RXNORM, "6851"), (ATC, "L04AX03")),
    "tacrolimus": ((RXNORM, "42316"), (ATC, "L04AD02")),
    "cyclosporine": ((RXNORM, "3008"), (ATC, "L04AD01")),
    "leflunomide": ((RXNORM, "27169"), (ATC, "L04AA13")),
    "rituximab": ((RXNORM, "121191"),),
}
CYCLOPHOSPHAMIDE: tuple[tuple[str, str], ...] = ((RXNORM, "3002"), (ATC, "L01AA01"))
ROUTE_IV = (SNOMED, "47625008")
ROUTE_ORAL = (SNOMED, "26643006")
CYCLOPHOSPHAMIDE_BY_ROUTE = {ROUTE_IV: "cyclophosphamide_iv", ROUTE_ORAL: "cyclophosphamide_oral"}

# Dose units of the drug catalogue → UCUM where UCUM has the unit (others travel in the local system).
DOSE_UNIT_UCUM: dict[str, str] = {"mg/day": "mg/d", "mg/week": "mg/wk"}


def codes_for(table: dict[str, tuple[tuple[str, str], ...]]) -> dict[tuple[str, str], str]:
    """(system, code) → vocabulary code, for reading."""
    return {coding: code for code, codings in table.items() for coding in codings}
