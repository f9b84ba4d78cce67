"""Vocabularies of the clinical record, as plain data (no Django import).

Every code list and weight table lives here once; scoring, case files, the
screening engine and the forms all read them from this module. The code tables of
``docs/case-files.md`` are generated from here (``python -m clinical.docs``).
Weights and definitions follow the references S1, S2, S6 and S7
(``screening/data/sources.json``).
"""

from __future__ import annotations

from typing import NamedTuple


class SledaiItem(NamedTuple):
    weight: int
    label: str
    definition: str


# SLEDAI-2K descriptors in form order (S1, S2).
SLEDAI_ITEMS: dict[str, SledaiItem] = {
    "seizure": SledaiItem(8, "Seizure", "Recent onset; metabolic, infectious and drug causes excluded."),
    "psychosis": SledaiItem(
        8,
        "Psychosis",
        "Severe disturbance of reality perception impairing normal function; uraemia and drugs excluded.",
    ),
    "organic_brain_syndrome": SledaiItem(
        8,
        "Organic brain syndrome",
        "Acute, fluctuating impairment of orientation, memory or other intellectual function with clouded consciousness plus at least 2 of: perceptual disturbance, incoherent speech, insomnia or daytime drowsiness, altered psychomotor activity.",
    ),
    "visual_disturbance": SledaiItem(
        8,
        "Visual disturbance",
        "Retinal changes of SLE (cytoid bodies, retinal haemorrhages, serous exudate or haemorrhage in the choroid) or optic neuritis; hypertension, infection, drugs excluded.",
    ),
    "cranial_nerve_disorder": SledaiItem(
        8, "Cranial nerve disorder", "New-onset sensory or motor neuropathy of cranial nerves."
    ),
    "lupus_headache": SledaiItem(
        8, "Lupus headache", "Severe persistent headache, may be migrainous, not responsive to narcotic analgesia."
    ),
    "cva": SledaiItem(8, "CVA", "New cerebrovascular accident(s); arteriosclerosis excluded."),
    "vasculitis": SledaiItem(
        8,
        "Vasculitis",
        "Ulceration, gangrene, tender finger nodules, periungual infarction, splinter haemorrhages, or biopsy/angiogram proof.",
    ),
    "arthritis": SledaiItem(
        4, "Arthritis", "At least 2 joints with pain and signs of inflammation (tenderness, swelling, effusion)."
    ),
    "myositis": SledaiItem(
        4,
        "Myositis",
        "Proximal muscle aching or weakness with raised CK/aldolase, EMG changes or biopsy showing myositis.",
    ),
    "urinary_casts": SledaiItem(4, "Urinary casts", "Heme-granular or red-cell casts."),
    "hematuria": SledaiItem(
        4, "Haematuria", "More than 5 RBC per high-power field; stone, infection or other cause excluded."
    ),
    "proteinuria": SledaiItem(4, "Proteinuria", "More than 0.5 g/24 h (persistent proteinuria counts)."),
    "pyuria": SledaiItem(4, "Pyuria", "More than 5 WBC per high-power field; infection excluded."),
    "rash": SledaiItem(2, "Rash", "Inflammatory-type (lupus) rash, new or ongoing."),
    "alopecia": SledaiItem(2, "Alopecia", "Abnormal patchy or diffuse hair loss, new or ongoing."),
    "mucosal_ulcers": SledaiItem(2, "Mucosal ulcers", "Oral or nasal ulcerations, new or ongoing."),
    "pleurisy": SledaiItem(2, "Pleurisy", "Pleuritic chest pain with pleural rub, effusion or pleural thickening."),
    "pericarditis": SledaiItem(
        2, "Pericarditis", "Pericardial pain with at least 1 of: rub, effusion, ECG or echocardiographic confirmation."
    ),
    "low_complement": SledaiItem(
        2, "Low complement", "CH50, C3 or C4 below the lower limit of the testing laboratory."
    ),
    "increased_dna_binding": SledaiItem(2, "Increased DNA binding", "Anti-dsDNA above the laboratory normal range."),
    "fever": SledaiItem(1, "Fever", "Above 38 °C, infection excluded."),
    "thrombocytopenia": SledaiItem(1, "Thrombocytopenia", "Platelets below 100 × 10⁹/L, drug causes excluded."),
    "leukopenia": SledaiItem(1, "Leukopenia", "WBC below 3 × 10⁹/L, drug causes excluded."),
}
# Left out of the clinical SLEDAI-2K (cSLEDAI).
SLEDAI_SEROLOGICAL: frozenset[str] = frozenset({"low_complement", "increased_dna_binding"})


class EularCriterion(NamedTuple):
    domain: str
    clinical: bool
    weight: int
    label: str


# 2019 EULAR/ACR classification criteria (S6).
EULAR_CRITERIA: dict[str, EularCriterion] = {
    "fever": EularCriterion("constitutional", True, 2, "Fever > 38.3 °C"),
    "leukopenia": EularCriterion("haematologic", True, 3, "Leukopenia < 4.0 × 10⁹/L"),
    "thrombocytopenia": EularCriterion("haematologic", True, 4, "Thrombocytopenia < 100 × 10⁹/L"),
    "autoimmune_hemolysis": EularCriterion("haematologic", True, 4, "Autoimmune haemolysis"),
    "delirium": EularCriterion("neuropsychiatric", True, 2, "Delirium"),
    "psychosis": EularCriterion("neuropsychiatric", True, 3, "Psychosis"),
    "seizure": EularCriterion("neuropsychiatric", True, 5, "Seizure"),
    "non_scarring_alopecia": EularCriterion("mucocutaneous", True, 2, "Non-scarring alopecia"),
    "oral_ulcers": EularCriterion("mucocutaneous", True, 2, "Oral ulcers"),
    "subacute_cutaneous_or_discoid_lupus": EularCriterion(
        "mucocutaneous", True, 4, "Subacute cutaneous or discoid lupus"
    ),
    "acute_cutaneous_lupus": EularCriterion("mucocutaneous", True, 6, "Acute cutaneous lupus"),
    "pleural_or_pericardial_effusion": EularCriterion("serosal", True, 5, "Pleural or pericardial effusion"),
    "acute_pericarditis": EularCriterion("serosal", True, 6, "Acute pericarditis"),
    "joint_involvement": EularCriterion("musculoskeletal", True, 6, "Joint involvement"),
    "proteinuria": EularCriterion("renal", True, 4, "Proteinuria > 0.5 g/24 h"),
    "ln_class_ii_or_v": EularCriterion("renal", True, 8, "Renal biopsy class II or V lupus nephritis"),
    "ln_class_iii_or_iv": EularCriterion("renal", True, 10, "Renal biopsy class III or IV lupus nephritis"),
    "antiphospholipid_antibodies": EularCriterion("antiphospholipid", False, 2, "Antiphospholipid antibodies"),
    "low_c3_or_low_c4": EularCriterion("complement", False, 3, "Low C3 or low C4"),
    "low_c3_and_low_c4": EularCriterion("complement", False, 4, "Low C3 and low C4"),
    "anti_dsdna_or_anti_sm": EularCriterion("sle_antibodies", False, 6, "Anti-dsDNA or anti-Sm antibodies"),
}


class SdiItem(NamedTuple):
    points: int
    max_count: int  # 2 for the items that may be recorded with count 2 (scoring twice)
    system: str
    label: str


# SLICC/ACR damage index (S7).
SDI_ITEMS: dict[str, SdiItem] = {
    "cataract": SdiItem(1, 1, "ocular", "Cataract ever"),
    "retinal_change_or_optic_atrophy": SdiItem(1, 1, "ocular", "Retinal change or optic atrophy"),
    "cognitive_impairment_or_psychosis": SdiItem(1, 1, "neuropsychiatric", "Cognitive impairment or major psychosis"),
    "seizures_6_months": SdiItem(1, 1, "neuropsychiatric", "Seizures requiring therapy for 6 months"),
    "cva": SdiItem(1, 2, "neuropsychiatric", "Cerebrovascular accident ever"),
    "neuropathy": SdiItem(1, 1, "neuropsychiatric", "Cranial or peripheral neuropathy"),
    "transverse_myelitis": SdiItem(1, 1, "neuropsychiatric", "Transverse myelitis"),
    "gfr_below_50": SdiItem(1, 1, "renal", "Estimated or measured GFR < 50%"),
    "proteinuria_3_5g": SdiItem(1, 1, "renal", "Proteinuria ≥ 3.5 g/24 h"),
    "esrd": SdiItem(3, 1, "renal", "End-stage renal disease"),
    "pulmonary_hypertension": SdiItem(1, 1, "pulmonary", "Pulmonary hypertension"),
    "pulmonary_fibrosis": SdiItem(1, 1, "pulmonary", "Pulmonary fibrosis"),
    "shrinking_lung": SdiItem(1, 1, "pulmonary", "Shrinking lung"),
    "pleural_fibrosis": SdiItem(1, 1, "pulmonary", "Pleural fibrosis"),
    "pulmonary_infarction": SdiItem(1, 1, "pulmonary", "Pulmonary infarction"),
    "angina_or_cabg": SdiItem(1, 1, "cardiovascular", "Angina or coronary artery bypass"),
    "myocardial_infarction": SdiItem(1, 2, "cardiovascular", "Myocardial infarction ever"),
    "cardiomyopathy": SdiItem(1, 1, "cardiovascular", "Cardiomyopathy"),
    "valvular_disease": SdiItem(1, 1, "cardiovascular", "Valvular disease"),
    "pericarditis_6_months": SdiItem(1, 1, "cardiovascular", "Pericarditis for 6 months or pericardiectomy"),
    "claudication_6_months": SdiItem(1, 1, "peripheral_vascular", "Claudication for 6 months"),
    "minor_tissue_loss": SdiItem(1, 1, "peripheral_vascular", "Minor tissue loss (pulp space)"),
    "significant_tissue_loss": SdiItem(1, 2, "peripheral_vascular", "Significant tissue loss ever"),
    "venous_thrombosis": SdiItem(1, 1, "peripheral_vascular", "Venous thrombosis with swelling, ulceration or stasis"),
    "gi_infarction_or_resection": SdiItem(
        1, 2, "gastrointestinal", "Infarction or resection of bowel, spleen, liver or gall bladder"
    ),
    "mesenteric_insufficiency": SdiItem(1, 1, "gastrointestinal", "Mesenteric insufficiency"),
    "chronic_peritonitis": SdiItem(1, 1, "gastrointestinal", "Chronic peritonitis"),
    "gi_stricture_or_surgery": SdiItem(1, 1, "gastrointestinal", "Stricture or upper GI tract surgery ever"),
    "pancreatic_insufficiency": SdiItem(1, 1, "gastrointestinal", "Pancreatic insufficiency"),
    "muscle_atrophy": SdiItem(1, 1, "musculoskeletal", "Muscle atrophy or weakness"),
    "deforming_arthritis": SdiItem(1, 1, "musculoskeletal", "Deforming or erosive arthritis"),
    "osteoporosis_fracture": SdiItem(1, 1, "musculoskeletal", "Osteoporosis with fracture or vertebral collapse"),
    "avascular_necrosis": SdiItem(1, 2, "musculoskeletal", "Avascular necrosis"),
    "osteomyelitis": SdiItem(1, 1, "musculoskeletal", "Osteomyelitis"),
    "ruptured_tendons": SdiItem(1, 1, "musculoskeletal", "Ruptured tendons"),
    "scarring_alopecia": SdiItem(1, 1, "skin", "Scarring chronic alopecia"),
    "extensive_scarring": SdiItem(1, 1, "skin", "Extensive scarring of panniculum"),
    "skin_ulceration": SdiItem(1, 1, "skin", "Skin ulceration for more than 6 months"),
    "premature_gonadal_failure": SdiItem(1, 1, "gonadal", "Premature gonadal failure"),
    "diabetes": SdiItem(1, 1, "endocrine", "Diabetes"),
    "malignancy": SdiItem(1, 2, "malignancy", "Malignancy (excluding dysplasia)"),
}
# ESRD scores instead of these two.
SDI_SUPPRESSED_BY_ESRD: frozenset[str] = frozenset({"gfr_below_50", "proteinuria_3_5g"})

MANIFESTATION_CODES: dict[str, str] = {
    "lupus_nephritis": "Lupus nephritis",
    "neuropsychiatric": "Neuropsychiatric lupus",
    "cardiopulmonary": "Cardiopulmonary involvement",
    "systemic_vasculitis": "Systemic vasculitis",
    "severe_cytopenia": "Severe cytopenia",
    "catastrophic_aps": "Catastrophic antiphospholipid syndrome",
    "other": "Other organ involvement",
}
LN_CLASSES: tuple[str, ...] = ("I", "II", "III", "IV", "V", "VI", "III+V", "IV+V")


class ObservationCode(NamedTuple):
    unit: str
    loinc: str | None
    label: str
    low: float  # plausible range for entry checks (canonical unit)
    high: float


OBSERVATIONS: dict[str, ObservationCode] = {
    "egfr": ObservationCode("mL/min/1.73m²", "98979-8", "eGFR", 0, 200),
    "creatinine": ObservationCode("mg/dL", "2160-0", "Creatinine", 0.05, 30),
    "upcr": ObservationCode("g/g", "2890-2", "Urine protein/creatinine ratio", 0, 50),
    "urine_protein_24h": ObservationCode("g/24h", "2889-4", "24-hour urine protein", 0, 50),
    "c3": ObservationCode("mg/dL", "4485-9", "Complement C3", 0, 500),
    "c4": ObservationCode("mg/dL", "4498-2", "Complement C4", 0, 200),
    "anti_dsdna": ObservationCode("IU/mL", "5130-0", "Anti-dsDNA", 0, 100000),
    "hemoglobin": ObservationCode("g/dL", "718-7", "Haemoglobin", 1, 25),
    "wbc": ObservationCode("10⁹/L", "6690-2", "White cells", 0, 500),
    "neutrophils": ObservationCode("10⁹/L", "751-8", "Neutrophils", 0, 500),
    "lymphocytes": ObservationCode("10⁹/L", "731-0", "Lymphocytes", 0, 500),
    "platelets": ObservationCode("10⁹/L", "777-3", "Platelets", 0, 2000),
    "alt": ObservationCode("U/L", "1742-6", "ALT", 0, 10000),
    "ast": ObservationCode("U/L", "1920-8", "AST", 0, 10000),
    "bilirubin": ObservationCode("mg/dL", "1975-2", "Bilirubin", 0, 50),
    "lvef": ObservationCode("%", None, "Left ventricular ejection fraction", 0, 100),
    "dlco": ObservationCode("% predicted", None, "DLCO", 0, 200),
    "fev1": ObservationCode("% predicted", None, "FEV1", 0, 200),
    "ecog": ObservationCode("0–5", "89247-1", "ECOG performance status", 0, 5),
}

CONDITION_CODES: dict[str, str] = {
    "pregnancy": "Pregnancy",
    "breastfeeding": "Breastfeeding",
    "hiv": "HIV infection",
    "hbv": "Hepatitis B infection",
    "hcv": "Hepatitis C infection",
    "tuberculosis": "Tuberculosis",
    "active_infection": "Active infection",
    "malignancy": "Malignancy",
    "dialysis": "Dialysis",
    "renal_transplant": "Renal transplant",
    "antiphospholipid_syndrome": "Antiphospholipid syndrome",
    "adherence_concern": "Adherence concern",
    "hcq_contraindicated": "Hydroxychloroquine contraindicated",
}

# The shipped rule sets' cautions in clinicians' words. The rule-set file gives a caution no label
# (docs/rule-sets.md, "Cautions"); a caution id not listed here reads as its humanised id.
CAUTION_LABELS: dict[str, str] = {
    "pregnancy": "Pregnancy or breastfeeding",
    "viral_infection": "Chronic viral infection (HIV, hepatitis B or C)",
    "tuberculosis": "Tuberculosis",
    "active_infection": "Active infection",
    "malignancy": "Malignancy",
    "cardiac_function": "Cardiac function",
    "lung_function": "Lung function",
    "kidney_function": "Kidney function",
    "liver_function": "Liver function",
    "severe_cytopenia": "Severe cytopenia",
    "active_cns_lupus": "Active CNS lupus",
    "performance_status": "Performance status",
    "recent_biologic": "Recent biologic",
    "renal_transplant": "Renal transplant",
    "organ_damage": "Organ damage",
    "antiphospholipid_syndrome": "Antiphospholipid syndrome",
    "adherence_concern": "Adherence concern",
}


def humanise(code: str) -> str:
    """A code in words when no label is known: "kidney_function" → "Kidney function"."""
    return code.replace("_", " ").strip().capitalize()


def caution_label(caution_id: str) -> str:
    """A caution's name on the pages: the label of a shipped caution, else its humanised id."""
    return CAUTION_LABELS.get(caution_id) or humanise(caution_id)


def drug_label(code: str) -> str:
    """A drug code in words: "mycophenolate_mofetil" → "mycophenolate mofetil",
    "cyclophosphamide_iv" → "cyclophosphamide IV" (drug names stay lower case, as in explanations)."""
    return " ".join("IV" if word == "iv" else word for word in code.split("_"))


def sledai_label(code: str) -> str:
    """A SLEDAI-2K descriptor in words: "urinary_casts" → "Urinary casts"."""
    item = SLEDAI_ITEMS.get(code)
    return item.label if item else humanise(code)


BILAG_SYSTEMS: tuple[str, ...] = (
    "constitutional",
    "mucocutaneous",
    "neuropsychiatric",
    "musculoskeletal",
    "cardiorespiratory",
    "gastrointestinal",
    "ophthalmic",
    "renal",
    "haematological",
)
BILAG_GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")

STOP_REASONS: dict[str, str] = {
    "inadequate_response": "Inadequate response",
    "intolerance": "Intolerance or adverse event",
    "remission": "Remission",
    "non_adherence": "Non-adherence",
    "other": "Other",
}
DRUG_CLASSES: tuple[str, ...] = ("antimalarial", "glucocorticoid", "immunosuppressant", "biologic")
SEXES: tuple[str, ...] = ("female", "male")
CONDITION_STATUSES: tuple[str, ...] = ("present", "absent")
SLEDAI_WINDOWS: tuple[int, ...] = (10, 30)
CASE_FORMAT = "sle-screening-case/1"
RULES_FORMAT = "sle-screening-rules/1"
